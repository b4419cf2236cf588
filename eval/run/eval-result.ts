import type { Suite } from '../benchmarks/types.ts';
import type { Mode } from '../prompting/modes.ts';

/** One scored question (or prompt, or comment): enough to audit a score without rerunning it. */
export interface ExampleRecord {
  id: string;
  /** The model's output(s): one for greedy modes, k for self-consistency and RTP samples. */
  outputs: string[];
  prediction?: string | null;
  correct?: boolean;
  f1?: number;
  /** Chance of a uniform guess being right (QA suites). */
  randomBaseline?: number;
  /** CivilComments: P(yes) and the gold label; RTP: the continuation scores and the prompt's toxicity. */
  score?: number;
  scores?: number[];
  label?: boolean;
  promptToxicity?: number | null;
}

export interface TaskResult {
  /** Percentages for accuracy-like metrics, raw values for AUC and toxicity (named to say which). */
  metrics: Record<string, number>;
  examples: ExampleRecord[];
  /** A task that is itself a run (one of the six parts of suite flan): what it covers, and its tasks' metrics. */
  reportedSet?: string;
  taskMetrics?: Record<string, Record<string, number>>;
}

export interface EvalResult {
  suite: Suite;
  mode: Mode;
  model: string;
  server: string;
  startedAt: string;
  finishedAt: string;
  tasks: Record<string, TaskResult>;
  /** Each metric the tasks share, averaged as the paper averages the suite (eval/run/paper-protocol.ts). */
  summary: Record<string, number>;
  /** The tasks the summary covers and how it averages them, in words: every report prints it. */
  reportedSet?: string;
}

/** The per-task metrics alone: the shape `flan-serve eval --json` prints. */
export function metricsByTask(result: EvalResult): Record<string, Record<string, number>> {
  return Object.fromEntries(Object.entries(result.tasks).map(([name, task]) => [name, task.metrics]));
}
