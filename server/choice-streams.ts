import type {
  Engine,
  GenerationEvent,
  GenerationRequest,
  GenerationStream,
  RequestDoneEvent,
  SampleDoneEvent,
  TokenEvent,
} from '../runtime/engine/engine-api.ts';
import { shuttingDown } from './api-error.ts';
import { collectGeneration, startGeneration, type GenerationResult } from './generation-run.ts';
import type { ServerMetrics } from './server-metrics.ts';

/**
 * Starts one generation per prompt and waits until the engine has taken them all, so that a refusal
 * (queue full, prompt too long) for any prompt surfaces before the response begins; the ones already
 * started are then cancelled rather than left decoding for nobody.
 */
export async function startAll(
  engine: Engine,
  prompts: (string | number[])[],
  base: Omit<GenerationRequest, 'prompt' | 'signal'>,
  clientGone: AbortSignal,
  metrics: ServerMetrics,
  route: string,
): Promise<{ streams: AsyncIterable<GenerationEvent>[]; cancel: () => void }> {
  const controller = new AbortController();
  const signal = AbortSignal.any([clientGone, controller.signal]);
  const streams: GenerationStream[] = [];
  try {
    for (const prompt of prompts) streams.push(startGeneration(engine, { ...base, prompt, signal }, metrics, route));
    await Promise.all(streams.map((s) => s.accepted));
  } catch (err) {
    controller.abort();
    throw err;
  }
  return { streams, cancel: () => controller.abort() };
}

/** Non-streamed: every prompt's result, in prompt order. A sample cancelled by shutdown fails the request. */
export async function collectAll(streams: AsyncIterable<GenerationEvent>[], keepTokens: boolean): Promise<GenerationResult[]> {
  const results = await Promise.all(streams.map((s) => collectGeneration(s, keepTokens)));
  if (results.some((r) => r.samples.some((s) => s.finishReason === 'cancelled'))) throw shuttingDown();
  return results;
}

export interface ChoiceHandlers {
  /** `index` is the OpenAI choice index: prompt * samplesPerPrompt + sample. */
  token(index: number, event: TokenEvent): void;
  sampleDone(index: number, event: SampleDoneEvent): void;
}

export interface StreamedDone {
  done: RequestDoneEvent;
  answers: (string | null)[];
}

/**
 * Streamed: forwards every prompt's events as they come, interleaved, with choice indices. Returns the
 * done events in prompt order. Throws shuttingDown when the engine cancelled a sample the client was
 * still waiting for (cancellation for a departed client is not an error anyone can see).
 */
export async function streamAll(
  streams: AsyncIterable<GenerationEvent>[],
  perPrompt: number,
  handlers: ChoiceHandlers,
  clientGone: AbortSignal,
): Promise<StreamedDone[]> {
  let cancelled = false;
  const dones = await Promise.all(
    streams.map(async (events, p) => {
      const answers: (string | null)[] = [];
      for await (const event of events) {
        const index = p * perPrompt + (event.type === 'done' ? 0 : event.sample);
        if (event.type === 'token') handlers.token(index, event);
        else if (event.type === 'sample_done') {
          answers[event.sample] = event.answer ?? null;
          if (event.finishReason === 'cancelled') cancelled = true;
          else handlers.sampleDone(index, event);
        } else return { done: event, answers };
      }
      throw new Error('the generation ended without a done event');
    }),
  );
  if (cancelled && !clientGone.aborted) throw shuttingDown();
  return dones;
}
