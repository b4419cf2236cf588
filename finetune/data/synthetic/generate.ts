import { SeededRandom } from '../../../runtime/seeded-random.ts';
import { EXTENSION_FAMILIES, FAMILIES, familyByName, isHeldOut } from './families.ts';
import type { TaskFamily } from './problem.ts';
import { renderProblem, renderRandomly, type SyntheticExample } from './render.ts';

/** The eval split's seed; training draws from other seeds and drops any question the split asks. */
export const EVAL_SEED = 20221020;

export interface MixtureOptions {
  seed: number;
  perFamily: number;
  /** Fraction of examples rendered few-shot (default 0.3). */
  fewShotRate?: number;
  /** Drop every rationale: the paper's "no CoT data" ablation (default false). */
  withoutRationales?: boolean;
  /** Only these families (default: every held-in family; extension families by name). Held-out families are refused. */
  families?: readonly string[];
  /** Questions never to train on, per family: the eval split's (default: generated from EVAL_SEED). */
  excluded?: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The instruction-tuning mixture: held-in families only, deterministic in (options). */
export function generateMixture(options: MixtureOptions): SyntheticExample[] {
  const families = selectFamilies(options.families);
  const held = families.find((f) => isHeldOut(f.name));
  if (held) throw new Error(`${held.name} is a held-out family and never enters training`);
  const excluded = options.excluded ?? evalQuestions(DEFAULT_EVAL_PER_FAMILY);
  const rng = SeededRandom.fromSeed(options.seed);
  const examples: SyntheticExample[] = [];
  for (const family of families) {
    const skip = trainingExclusions(family.make, excluded.get(family.name), options.seed);
    for (let made = 0, tries = 0; made < options.perFamily && tries < options.perFamily * 20; tries++) {
      const problem = family.make(rng);
      if (skip.has(problem.question)) continue;
      const example = renderRandomly(family, problem, rng, options.fewShotRate ?? 0.3);
      if (options.withoutRationales) delete example.rationale;
      examples.push(example);
      made++;
    }
  }
  return rng.shuffle(examples);
}

/**
 * The eval questions a family's training must skip. A closed family (weekday sums, the plural of a
 * few dozen nouns, single-digit tables) has fewer distinct questions than its eval split, so skipping
 * them would leave it no training data at all: when most draws are eval questions the family trains
 * on its whole space, and its held-in score measures what was learned, as for a lookup task.
 */
export function trainingExclusions(make: (rng: SeededRandom) => { question: string }, evalSet: ReadonlySet<string> | undefined, seed: number): ReadonlySet<string> {
  if (!evalSet) return new Set();
  const rng = SeededRandom.fromSeed(seed ^ 0x3c6ef372);
  let hits = 0;
  for (let i = 0; i < PROBE_DRAWS; i++) if (evalSet.has(make(rng).question)) hits++;
  return hits > PROBE_DRAWS / 2 ? new Set() : evalSet;
}

const PROBE_DRAWS = 200;

export const DEFAULT_EVAL_PER_FAMILY = 100;
/**
 * Token budget of a CoT target ("<rationale> So the answer is X."): counted-out rationales stay under
 * 150 tokens of the flan-mini vocabulary (a word problem's two sums). Training truncates targets to
 * it, generation and the eval harness allow it, so the three agree.
 */
export const COT_TARGET_TOKENS = 160;

export interface EvalItem {
  task: string;
  heldOut: boolean;
  /** Zero-shot prompt under the family's first template. */
  prompt: string;
  answer: string;
  /** Whether the family was trained with CoT rationales (it makes CoT evaluation meaningful). */
  hasRationale: boolean;
  /** Chance of a uniform guess. */
  randomBaseline: number;
}

/** The fixed eval split of every family (held-in and held-out), `perFamily` questions each, distinct. */
export function generateEvalSet(perFamily = DEFAULT_EVAL_PER_FAMILY, families?: readonly string[]): EvalItem[] {
  const items: EvalItem[] = [];
  for (const family of selectFamilies(families, true)) {
    for (const problem of evalProblems(family, perFamily)) {
      const rendered = renderProblem(family, problem, family.templates[0]);
      items.push({
        task: family.name,
        heldOut: isHeldOut(family.name),
        prompt: rendered.inputs,
        answer: problem.answer,
        hasRationale: problem.rationale !== undefined,
        randomBaseline: family.labels ? 1 / family.labels.length : (family.randomBaseline ?? 0),
      });
    }
  }
  return items;
}

/** Each family's eval questions (extension families' too), which training must not contain. */
export function evalQuestions(perFamily: number): Map<string, Set<string>> {
  return new Map([...FAMILIES, ...EXTENSION_FAMILIES].map((f) => [f.name, new Set(evalProblems(f, perFamily).map((p) => p.question))]));
}

/** Per family its own stream, so adding a family never changes another family's questions. */
function evalProblems(family: TaskFamily, count: number) {
  return evalDraws(family.name, family.make, count);
}

/** `count` problems with distinct questions from the eval stream named `stream` (a seed no training uses). */
export function evalDraws<P extends { question: string }>(stream: string, make: (rng: SeededRandom) => P, count: number): P[] {
  const rng = SeededRandom.fromSeed(EVAL_SEED ^ hashName(stream));
  const seen = new Set<string>();
  const problems: P[] = [];
  for (let tries = 0; problems.length < count && tries < count * 50; tries++) {
    const p = make(rng);
    if (seen.has(p.question)) continue;
    seen.add(p.question);
    problems.push(p);
  }
  return problems;
}

function selectFamilies(names: readonly string[] | undefined, includeHeldOut = false): TaskFamily[] {
  if (names) return names.map(familyByName);
  return FAMILIES.filter((f) => includeHeldOut || !isHeldOut(f.name));
}

function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h | 0;
}
