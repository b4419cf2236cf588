import type { QaExample, QaTask } from '../benchmarks/types.ts';
import { completeSamples, type CompletionClient } from '../client/completion-client.ts';
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
 * A completion may run past the answer into an invented next exemplar when the endpoint ignores
 * `stop`; everything from the first blank line on is not the model's answer.
 */
function firstBlock(text: string): string {
  const cut = text.indexOf(EXEMPLAR_SEPARATOR);
  return cut < 0 ? text : text.slice(0, cut);
}

/** Asks one question in the given mode and scores the answer. */
export async function evaluateQuestion(
  client: CompletionClient,
  spec: QaSuiteSpec,
  task: QaTask,
  example: QaExample,
  mode: Mode,
  sampling: SamplingOptions,
  signal?: AbortSignal,
): Promise<ExampleRecord> {
  const style = promptStyle(mode);
  const prompt = spec.prompt(task, example, style);
  const request = { prompt, maxTokens: spec.maxTokens(style), stop: [EXEMPLAR_SEPARATOR] };
  let outputs: string[];
  let prediction: string | null;
  if (mode === 'cot-sc') {
    outputs = (await completeSamples(client, { ...request, temperature: sampling.temperature }, sampling.samples, signal)).map(firstBlock);
    prediction = votedAnswer(outputs.map((o) => spec.extract(o, style) ?? undefined)) ?? null;
  } else {
    const [output] = (await client.complete({ ...request, temperature: 0 }, signal)).texts.map(firstBlock);
    outputs = [output ?? ''];
    prediction = spec.extract(outputs[0], style);
    if (mode === 'zero-shot-cot' && prediction === null) {
      // Kojima et al.'s second stage, only when the reasoning did not already state an answer.
      const followUp = await client.complete(
        { prompt: `${prompt} ${outputs[0].trim()}\n${ANSWER_TRIGGER}`, maxTokens: 32, temperature: 0, stop: [EXEMPLAR_SEPARATOR] },
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
