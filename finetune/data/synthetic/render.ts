import type { SeededRandom } from '../../../runtime/seeded-random.ts';
import type { Problem, TaskFamily } from './problem.ts';

/** A rendered example in the project's instruction JSONL shape. */
export interface SyntheticExample {
  inputs: string;
  targets: string;
  rationale?: string;
  task: string;
}

export const EXEMPLAR_SEPARATOR = '\n\n';

export function fillTemplate(template: string, question: string): string {
  return template.split('{q}').join(question);
}

/**
 * Zero-shot when `exemplars` is empty, else few-shot: solved exemplars of the same family under the
 * same template, direct answers, one blank line apart, as the Flan collection's few-shot templates.
 * Only zero-shot examples keep their rationale, so a CoT target never follows direct exemplars.
 */
export function renderProblem(family: TaskFamily, problem: Problem, template: string, exemplars: readonly Problem[] = []): SyntheticExample {
  const shots = exemplars.map((e) => `${fillTemplate(template, e.question)} ${e.answer}`);
  const inputs = [...shots, fillTemplate(template, problem.question)].join(EXEMPLAR_SEPARATOR);
  const withRationale = exemplars.length === 0 && problem.rationale !== undefined;
  return { inputs, targets: problem.answer, ...(withRationale ? { rationale: problem.rationale } : {}), task: family.name };
}

/**
 * Few-shot prompts stop growing at this many characters (about 250 tokens of the learned vocabulary):
 * a longer one would be truncated by the trainer from the end, cutting off the very question asked.
 */
export const MAX_FEW_SHOT_CHARS = 600;

/** A random template and, at `fewShotRate`, one to three exemplars (fewer where they would not fit). */
export function renderRandomly(family: TaskFamily, problem: Problem, rng: SeededRandom, fewShotRate: number): SyntheticExample {
  const template = family.templates[rng.int(family.templates.length)];
  const shots = rng.next() < fewShotRate ? 1 + rng.int(3) : 0;
  const exemplars = Array.from({ length: shots }, () => family.make(rng));
  let rendered = renderProblem(family, problem, template, exemplars);
  while (exemplars.length > 0 && rendered.inputs.length > MAX_FEW_SHOT_CHARS) {
    exemplars.pop();
    rendered = renderProblem(family, problem, template, exemplars);
  }
  return rendered;
}
