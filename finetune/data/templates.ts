import type { SeededRandom } from '../../runtime/seeded-random.ts';
import type { InstructionExample } from './instruction-example.ts';
import { COT_TRIGGER } from '../../runtime/engine/chain-of-thought.ts';

/**
 * Flan-style formatting: each task has several input templates; an example is rendered zero-shot or
 * few-shot (exemplars from the same task first), and, when it has a rationale, possibly with chain
 * of thought: a trigger in the input and "<rationale> So the answer is <answer>." as the target, the
 * form the engine's answer extraction reads back.
 */

/** Input templates; `{inputs}` is replaced by the example's input. */
export const DEFAULT_TEMPLATES = ['{inputs}', 'Q: {inputs}\nA:', '{inputs}\n\nAnswer:', 'Question: {inputs}\nAnswer:'];
/** The template that leaves an input exactly as written. */
export const VERBATIM = '{inputs}';
const EXEMPLAR_SEPARATOR = '\n\n';

export interface TemplateOptions {
  /** Input templates per task name; tasks not listed use defaultTemplates. */
  templates?: Record<string, string[]>;
  /** Templates of tasks not in `templates` (default DEFAULT_TEMPLATES; [VERBATIM] trains on inputs as written). */
  defaultTemplates?: string[];
  /** Fraction of examples rendered few-shot (default 0: all zero-shot). */
  fewShotRate?: number;
  /** Exemplars in a few-shot prompt (default 2), fewer when the task has fewer other examples. */
  shots?: number;
  /** Fraction of examples that have a rationale rendered with chain of thought (default 1). */
  cotRate?: number;
}

export interface RenderedExample {
  source: string;
  target: string;
  task: string;
}

export function cotTarget(rationale: string, answer: string): string {
  const answerText = answer.trim().replace(/\.$/, '');
  return `${rationale.trim()} So the answer is ${answerText}.`;
}

export function renderExample(
  example: InstructionExample,
  taskExamples: readonly InstructionExample[],
  options: TemplateOptions,
  rng: SeededRandom,
): RenderedExample {
  const templates = options.templates?.[example.task] ?? options.defaultTemplates ?? DEFAULT_TEMPLATES;
  const template = templates[rng.int(templates.length)];
  const cot = example.rationale !== undefined && rng.next() < (options.cotRate ?? 1);
  const fewShot = rng.next() < (options.fewShotRate ?? 0);
  const parts: string[] = [];
  if (fewShot) {
    const others = taskExamples.filter((e) => e !== example && (!cot || e.rationale !== undefined));
    const shots = Math.min(options.shots ?? 2, others.length);
    const picked = rng.shuffle([...others]).slice(0, shots);
    for (const e of picked) parts.push(`${fill(template, e.inputs, cot)} ${answerFor(e, cot)}`);
  }
  parts.push(fill(template, example.inputs, cot));
  return { source: parts.join(EXEMPLAR_SEPARATOR), target: answerFor(example, cot), task: example.task };
}

function fill(template: string, inputs: string, cot: boolean): string {
  const text = template.includes('{inputs}') ? template.split('{inputs}').join(inputs) : `${template}\n${inputs}`;
  return cot ? `${text} ${COT_TRIGGER}` : text;
}

function answerFor(e: InstructionExample, cot: boolean): string {
  return cot ? cotTarget(e.rationale!, e.targets) : e.targets;
}
