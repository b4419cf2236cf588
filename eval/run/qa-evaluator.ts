import type { QaExample, QaTask } from '../benchmarks/types.ts';
import { completeSamples, type CompletionClient, type RankScorer } from '../client/completion-client.ts';
import { ANSWER_TRIGGER, EXEMPLAR_SEPARATOR, promptStyle, type Mode } from '../prompting/modes.ts';
import { votedAnswer } from '../../runtime/engine/chain-of-thought.ts';
import type { ExampleRecord, TaskResult } from './eval-result.ts';
import type { QaSuiteSpec } from './qa-suites.ts';

export interface SamplingOptions {
  /** Self-consistency samples per question. */
  samples: number;
  /** Self-consistency sampling temperature (greedy modes use 0). */
  temperature: number;
}

/**
 * A completion may run past the answer into an invented next exemplar: everything from the first blank
 * line, or from the next exemplar's question marker where it starts a word, is not the model's answer.
 * T5 cannot write the blank line (its vocabulary has no newline), so for it the marker is what cuts;
 * the cut is applied here as well as sent as `stop`, for endpoints that ignore `stop`.
 */
export function firstBlock(text: string, markers: readonly string[]): string {
  let cut = text.indexOf(EXEMPLAR_SEPARATOR);
  for (const marker of markers) {
    const at = new RegExp(`(?:^|\\s)${escapeRegExp(marker)}`).exec(text);
    if (at && (cut < 0 || at.index < cut)) cut = at.index;
  }
  return cut < 0 ? text : text.slice(0, cut);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Asks one question in the given mode and scores the answer. With a rank scorer, a direct question
 * that has candidate answers (MMLU's letters) is answered by the most likely candidate instead.
 */
export async function evaluateQuestion(
  client: CompletionClient,
  spec: QaSuiteSpec,
  task: QaTask,
  example: QaExample,
  mode: Mode,
  sampling: SamplingOptions,
  signal?: AbortSignal,
  rank?: RankScorer,
): Promise<ExampleRecord> {
  const style = promptStyle(mode);
  const prompt = spec.prompt(task, example, style);
  const candidates = rank && mode === 'direct' ? spec.candidates?.(task, example) : undefined;
  if (rank && candidates) {
    const scores = await rank.score(prompt, candidates, signal);
    const prediction = candidates[scores.indexOf(Math.max(...scores))];
    const { correct } = spec.score(prediction, example);
    return { id: example.id, outputs: [prediction], prediction, correct, scores, randomBaseline: spec.randomBaseline(task, example) };
  }
  const markers = spec.nextQuestionMarkers(task, style);
  const stop = [EXEMPLAR_SEPARATOR, ...markers];
  const cut = (text: string) => firstBlock(text, markers);
  const request = { prompt, maxTokens: spec.maxTokens(task, style), stop };
  let outputs: string[];
  let prediction: string | null;
  if (mode === 'cot-sc') {
    outputs = (await completeSamples(client, { ...request, temperature: sampling.temperature }, sampling.samples, signal)).map(cut);
    prediction = votedAnswer(outputs.map((o) => spec.extract(o, style) ?? undefined)) ?? null;
  } else {
    const [output] = (await client.complete({ ...request, temperature: 0 }, signal)).texts.map(cut);
    outputs = [output ?? ''];
    prediction = spec.extract(outputs[0], style);
    if (mode === 'zero-shot-cot' && prediction === null) {
      // Kojima et al.'s second stage, only when the reasoning did not already state an answer.
      const followUp = await client.complete(
        { prompt: `${prompt} ${outputs[0].trim()}\n${ANSWER_TRIGGER}`, maxTokens: 32, temperature: 0, stop },
        signal,
      );
      outputs.push(followUp.texts[0] ?? '');
      prediction = spec.extractAfterTrigger(outputs[1]);
    }
  }
  const { correct, f1 } = spec.score(prediction, example);
  return { id: example.id, outputs, prediction, correct, ...(f1 !== undefined ? { f1 } : {}), randomBaseline: spec.randomBaseline(task, example) };
}

/** Accuracy and its random baseline in percent; TyDiQA adds exact match and F1 under their own names. */
export function summarizeQaTask(records: ExampleRecord[], withF1: boolean): TaskResult {
  const n = records.length;
  const mean = (f: (r: ExampleRecord) => number) => (n === 0 ? 0 : (records.reduce((s, r) => s + f(r), 0) / n) * 100);
  const accuracy = mean((r) => (r.correct ? 1 : 0));
  const metrics: Record<string, number> = { accuracy, random_baseline: mean((r) => r.randomBaseline ?? 0), count: n };
  if (withF1) Object.assign(metrics, { exact_match: accuracy, f1: mean((r) => r.f1 ?? 0) });
  return { metrics, examples: records };
}
