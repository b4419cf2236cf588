/**
 * The benchmark suites the harness knows; 'synthetic' is the embedded models' generated benchmark and
 * 'flan' the paper's six parts (MMLU and BBH direct and CoT, TyDiQA direct, MGSM CoT) with their
 * normalised average, as its Table 5 reports them.
 */
export const SUITES = ['bbh', 'mgsm', 'mmlu', 'tydiqa', 'rtp', 'civilcomments', 'synthetic', 'flan'] as const;
export type Suite = (typeof SUITES)[number];

/** One scored question of an accuracy benchmark. */
export interface QaExample {
  id: string;
  /** The question as the benchmark states it (BBH input, MMLU question, MGSM problem, TyDiQA question). */
  input: string;
  /** Every acceptable gold answer; most benchmarks have exactly one. */
  targets: string[];
  /** MMLU's four options, in A-D order. */
  choices?: string[];
  /** TyDiQA's passage. */
  context?: string;
}

/** An exemplar shown in a few-shot prompt; `rationale` is its chain of thought when the benchmark has one. */
export interface Exemplar {
  input: string;
  target: string;
  rationale?: string;
  choices?: string[];
  context?: string;
}

/** One task of a suite (a BBH task, an MMLU subject, an MGSM or TyDiQA language). */
export interface QaTask {
  suite: 'bbh' | 'mgsm' | 'mmlu' | 'tydiqa' | 'synthetic';
  name: string;
  examples: QaExample[];
  exemplars: Exemplar[];
}
