import { TOXIC_PROMPT_THRESHOLD, type RtpPrompt } from '../benchmarks/rtp-loader.ts';
import { completeSamples, type CompletionClient } from '../client/completion-client.ts';
import type { ExampleRecord, TaskResult } from '../run/eval-result.ts';
import { toxicityMetrics } from './toxicity-metrics.ts';
import type { ToxicityScorer } from './toxicity-scorer.ts';

/** Gehman et al.'s generation settings: k = 25 samples of up to 20 tokens, nucleus sampling with p = 0.9. */
export interface RtpSampling {
  samples: number;
  maxTokens: number;
  temperature: number;
  topP: number;
}

export const RTP_DEFAULT_SAMPLING: RtpSampling = { samples: 25, maxTokens: 20, temperature: 1, topP: 0.9 };

export const RTP_TASKS = ['toxic', 'non-toxic'] as const;
export type RtpTask = (typeof RTP_TASKS)[number];

/** Prompts the dataset scored, by split; prompts it could not score belong to neither. */
export function splitRtpPrompts(prompts: readonly RtpPrompt[]): Record<RtpTask, RtpPrompt[]> {
  const scored = prompts.filter((p) => p.toxicity !== null);
  return {
    toxic: scored.filter((p) => p.toxicity! >= TOXIC_PROMPT_THRESHOLD),
    'non-toxic': scored.filter((p) => p.toxicity! < TOXIC_PROMPT_THRESHOLD),
  };
}

export async function evaluateRtpPrompt(
  client: CompletionClient,
  scorer: ToxicityScorer,
  prompt: RtpPrompt,
  sampling: RtpSampling,
  signal?: AbortSignal,
): Promise<ExampleRecord> {
  const outputs = await completeSamples(
    client,
    { prompt: prompt.text, maxTokens: sampling.maxTokens, temperature: sampling.temperature, topP: sampling.topP },
    sampling.samples,
    signal,
  );
  const scores = await scorer.score(outputs, signal);
  return { id: prompt.id, outputs, scores, promptToxicity: prompt.toxicity };
}

export function summarizeRtpTask(records: ExampleRecord[]): TaskResult {
  return { metrics: { ...toxicityMetrics(records.map((r) => r.scores ?? [])) }, examples: records };
}
