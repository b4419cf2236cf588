import { bbhTaskNames, loadBbhTask, type BbhCotPrompt } from '../benchmarks/bbh-loader.ts';
import { loadMgsmTask, mgsmLanguages, type MgsmTask } from '../benchmarks/mgsm-loader.ts';
import { loadMmluTask, mmluSubjects, type MmluTask } from '../benchmarks/mmlu-loader.ts';
import { BenchmarkDataError } from '../benchmarks/read-text.ts';
import { loadTydiqaTasks } from '../benchmarks/tydiqa-loader.ts';
import type { QaExample, QaTask } from '../benchmarks/types.ts';
import { buildBbhPrompt } from '../prompting/bbh-prompt.ts';
import { buildMgsmPrompt } from '../prompting/mgsm-prompt.ts';
import { buildMmluPrompt } from '../prompting/mmlu-prompt.ts';
import type { PromptStyle } from '../prompting/modes.ts';
import { buildTydiqaPrompt } from '../prompting/tydiqa-prompt.ts';
import { bbhAnswerMatches, bbhRandomBaseline, extractBbhCotAnswer, extractBbhDirectAnswer } from '../scoring/bbh-answer.ts';
import { firstNumber, lastNumber, mgsmAnswerMatches } from '../scoring/mgsm-answer.ts';
import { extractMmluCotAnswer, extractMmluDirectAnswer, MMLU_RANDOM_BASELINE } from '../scoring/mmlu-answer.ts';
import { exactMatch, tokenF1 } from '../scoring/squad-metrics.ts';
import { defaultTasks } from './paper-protocol.ts';
import { tokenBudgetFor } from './token-budget.ts';

export type QaSuite = 'bbh' | 'mgsm' | 'mmlu' | 'tydiqa';

const SUITE_TITLES: Record<QaSuite, string> = { bbh: 'BBH', mgsm: 'MGSM', mmlu: 'MMLU', tydiqa: 'TyDiQA' };

/** Everything benchmark-specific about asking and scoring one question. */
export interface QaSuiteSpec<T extends QaTask = QaTask> {
  load(dir: string, names?: readonly string[]): T[];
  prompt(task: T, example: QaExample, style: PromptStyle): string;
  /** The answer in an output of the given prompt style; null when there is none. */
  extract(output: string, style: PromptStyle): string | null;
  /** The answer in the completion of "Therefore, the answer is" (zero-shot CoT's second stage). */
  extractAfterTrigger(output: string): string | null;
  score(prediction: string | null, example: QaExample): { correct: boolean; f1?: number };
  /** Probability that a uniform guess is right, for this question. */
  randomBaseline(task: T, example: QaExample): number;
  /** The output budget, sized from the task's data: its longest answer, or its longest exemplar rationale. */
  maxTokens(task: T, style: PromptStyle): number;
  /**
   * What begins the next exemplar in this prompt format ("Q:"). A model that runs on past its answer
   * starts inventing one there; T5's vocabulary has no newline, so the blank line between exemplars
   * never appears in its output and this marker is the only boundary it can produce.
   */
  nextQuestionMarkers(task: T, style: PromptStyle): string[];
  /** The answers rank classification chooses among (--scoring rank), where the benchmark has a fixed set. */
  candidates?(task: T, example: QaExample): string[];
}

/** The CoT budget where the data has no rationale to size it from (zero-shot CoT on MMLU, TyDiQA). */
const COT_FLOOR = 256;

/** Every gold answer of a task, its exemplars' included: a direct answer's budget is the longest. */
function answersOf(task: QaTask): string[] {
  return [...task.examples.flatMap((e) => e.targets), ...task.exemplars.map((e) => e.target)];
}

/** Every few-shot CoT prompt here (BBH, MMLU) writes its exemplars as "Q: ...\nA: ...". */
const QUESTION_MARKER = 'Q:';

/** The rationales of a "Q: ...\nA: <rationale>" few-shot prompt (BBH and MMLU CoT prompts). */
function rationalesOf(promptText: string): string[] {
  return promptText.split(/\n\n(?=Q: )/).flatMap((block) => /\nA: ([\s\S]*)$/.exec(block)?.[1] ?? []);
}

/** The named tasks, or, when none are named, the set the paper reports (e.g. TyDiQA without English). */
function selectTasks<T extends { name: string }>(all: T[], names: readonly string[] | undefined, suite: QaSuite): T[] {
  const wanted = names && names.length > 0 ? names : defaultTasks(suite, all.map((t) => t.name));
  return wanted.map((n) => {
    const task = all.find((t) => t.name === n);
    if (!task) throw new BenchmarkDataError(`${SUITE_TITLES[suite]}: no task "${n}" (have: ${all.map((t) => t.name).join(', ')})`);
    return task;
  });
}

function selectNames(all: string[], names: readonly string[] | undefined, suite: QaSuite): string[] {
  return selectTasks(all.map((name) => ({ name })), names, suite).map((t) => t.name);
}

type BbhTask = QaTask & { prompt: BbhCotPrompt; labels: Set<string> };

const bbh: QaSuiteSpec<BbhTask> = {
  load: (dir, names) =>
    selectNames(bbhTaskNames(dir), names, 'bbh').map((n) => {
      const task = loadBbhTask(dir, n);
      return { ...task, labels: new Set(task.examples.map((e) => e.targets[0])) };
    }),
  prompt: (task, example, style) => buildBbhPrompt(task.prompt, example.input, style),
  extract: (output, style) => (style === 'direct' ? extractBbhDirectAnswer(output) : extractBbhCotAnswer(output)),
  extractAfterTrigger: extractBbhDirectAnswer,
  score: (prediction, example) => ({ correct: bbhAnswerMatches(prediction, example.targets[0]) }),
  randomBaseline: (task, example) => bbhRandomBaseline(example.input, task.labels),
  maxTokens: (task, style) => tokenBudgetFor(style === 'direct' ? answersOf(task) : rationalesOf(task.prompt.text)),
  nextQuestionMarkers: () => [QUESTION_MARKER],
};

const mmlu: QaSuiteSpec<MmluTask> = {
  load: (dir, names) => selectNames(mmluSubjects(dir), names, 'mmlu').map((s) => loadMmluTask(dir, s)),
  prompt: buildMmluPrompt,
  extract: (output, style) => (style === 'direct' ? extractMmluDirectAnswer(output) : extractMmluCotAnswer(output)),
  extractAfterTrigger: extractMmluDirectAnswer,
  score: (prediction, example) => ({ correct: prediction === example.targets[0] }),
  randomBaseline: () => MMLU_RANDOM_BASELINE,
  // A direct answer is one letter; a CoT one as long as the subject's longest exemplar (chain-of-thought-hub's prompts).
  maxTokens: (task, style) => (style === 'direct' ? 4 : tokenBudgetFor(rationalesOf(task.cotPrompt ?? ''), COT_FLOOR)),
  nextQuestionMarkers: () => [QUESTION_MARKER],
  // Hendrycks et al.'s evaluate_flan.py picks the likeliest of the option letters.
  candidates: (_task, example) => ['A', 'B', 'C', 'D'].slice(0, example.choices?.length ?? 4),
};

const mgsm: QaSuiteSpec<MgsmTask> = {
  load: (dir, names) => selectNames(mgsmLanguages(dir), names, 'mgsm').map((l) => loadMgsmTask(dir, l)),
  prompt: (task, example, style) => buildMgsmPrompt(task, example.input, style),
  extract: (output) => lastNumber(output) ?? null,
  extractAfterTrigger: firstNumber,
  score: (prediction, example) => ({ correct: mgsmAnswerMatches(prediction, example.targets[0]) }),
  // Free-form numbers: a guess is never right, so the baseline is 0 (as the paper takes it).
  randomBaseline: () => 0,
  maxTokens: (task, style) =>
    style === 'direct' ? tokenBudgetFor(answersOf(task)) : tokenBudgetFor(task.exemplars.map((e) => e.rationale ?? ''), COT_FLOOR),
  nextQuestionMarkers: (task) => [task.questionPrefix.trim()],
};

const tydiqa: QaSuiteSpec = {
  load: (dir, names) => selectTasks(loadTydiqaTasks(dir), names, 'tydiqa'),
  prompt: (task, example, style) => buildTydiqaPrompt(task.exemplars, example, style),
  extract: (output, style) => {
    if (style === 'direct') return output.trim().split('\n')[0].trim() || null;
    return extractBbhCotAnswer(output);
  },
  extractAfterTrigger: (output) => output.trim().split('\n')[0].trim() || null,
  score: (prediction, example) =>
    prediction === null
      ? { correct: false, f1: 0 }
      : { correct: exactMatch(prediction, example.targets) === 1, f1: tokenF1(prediction, example.targets) },
  randomBaseline: () => 0,
  maxTokens: (task, style) => (style === 'direct' ? tokenBudgetFor(answersOf(task)) : COT_FLOOR),
  nextQuestionMarkers: () => [QUESTION_MARKER],
};

export const QA_SUITES: Record<QaSuite, QaSuiteSpec> = {
  bbh,
  mmlu,
  mgsm,
  tydiqa,
};
