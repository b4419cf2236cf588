import type { Suite } from '../benchmarks/types.ts';
import type { Mode } from '../prompting/modes.ts';
import type { ToxicityScorer } from '../toxicity/toxicity-scorer.ts';

export interface EvalOptions {
  /** The endpoint: our server's root or any OpenAI-compatible /v1 base. */
  server: string;
  model: string;
  apiKey?: string;
  suite: Suite;
  /** The benchmark's directory in its public layout. */
  dataDir: string;
  /** Task names within the suite (BBH tasks, MMLU subjects, languages, ...); all when absent. */
  tasks?: string[];
  mode: Mode;
  /** The first N examples of each task; all when absent. */
  limit?: number;
  /** Requests in flight at once. Kept small by default so an eval never crowds out other users. */
  concurrency?: number;
  /** Samples per question (cot-sc) or per prompt (rtp). */
  samples?: number;
  /** Sampling temperature for cot-sc. */
  temperature?: number;
  /**
   * 'rank': multiple choice scored by the log-likelihood of each option (MMLU direct, as Flan-T5's
   * MMLU script does) and CivilComments' P(yes) from the scores of "yes" and "no", through
   * flan-serve's /v1/flan/score. 'generate' (default): from completions, which any endpoint serves.
   */
  scoring?: Scoring;
  /** Scores RealToxicityPrompts continuations; required for suite rtp. */
  scorer?: ToxicityScorer;
}

export const SCORINGS = ['generate', 'rank'] as const;
export type Scoring = (typeof SCORINGS)[number];

export const DEFAULT_CONCURRENCY = 4;
/** Self-consistency defaults: fewer samples than Wang et al.'s 40, which a CPU server cannot afford. */
export const DEFAULT_SC_SAMPLES = 8;
export const DEFAULT_SC_TEMPERATURE = 0.7;

export class EvalUnavailableError extends Error {
  override name = 'EvalUnavailableError';
}
