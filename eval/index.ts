/**
 * The eval harness's public surface, for the server's /admin/evals and for scripts: run a suite
 * against an endpoint, write its reports, compare two runs, combine runs into the paper's average.
 */
export { SUITES, type Suite } from './benchmarks/types.ts';
export { BenchmarkDataError } from './benchmarks/read-text.ts';
export { MODES, type Mode } from './prompting/modes.ts';
export { PromptUnavailableError } from './prompting/prompt-unavailable-error.ts';
export { runEval, type RunControls } from './run/run-eval.ts';
export { EvalUnavailableError, SCORINGS, type EvalOptions, type Scoring } from './run/eval-options.ts';
export { metricsByTask, type EvalResult, type ExampleRecord, type TaskResult } from './run/eval-result.ts';
export type { EvalProgress, ProgressListener } from './run/progress.ts';
export { flanNormalizedAverage, type FlanNormalizedAverage } from './run/flan-normalized-average.ts';
export { renderRunHtml } from './report/html-report.ts';
export { writeRunReport } from './report/write-report.ts';
export { compareRuns, renderComparisonHtml, type RunComparison } from './report/compare-runs.ts';
export { createScorer, SCORER_KINDS, type ScorerKind, type ScorerOptions } from './toxicity/scorer-from-options.ts';
export type { ToxicityScorer } from './toxicity/toxicity-scorer.ts';
