import type {
  Engine,
  FinishReason,
  GenerationEvent,
  GenerationRequest,
  GenerationStream,
  TokenEvent,
  Vote,
} from '../runtime/engine/engine-api.ts';
import type { ServerMetrics } from './server-metrics.ts';

/** One sample's result once it is done. */
export interface SampleResult {
  text: string;
  finishReason: FinishReason;
  completionTokens: number;
  answer?: string;
  /** Kept only when log-probabilities were asked for. */
  tokens: TokenEvent[];
}

/** A whole request's result, for the non-streamed answers. */
export interface GenerationResult {
  samples: SampleResult[];
  promptTokens: number;
  completionTokens: number;
  prompt: string;
  vote?: Vote;
}

/**
 * Starts a generation and observes its events for the metrics (time to first token, time between a
 * sample's tokens, token counts). The engine's refusals throw here or reject `accepted`, before
 * anything was sent, so the route can still answer with a proper status.
 */
export function startGeneration(
  engine: Engine,
  request: GenerationRequest,
  metrics: ServerMetrics,
  route: string,
): GenerationStream {
  const started = performance.now();
  const events = engine.generate(request);
  return Object.assign(observe(events, metrics, route, started), { accepted: events.accepted });
}

async function* observe(events: AsyncIterable<GenerationEvent>, metrics: ServerMetrics, route: string, started: number) {
  let firstToken = true;
  const lastTokenAt = new Map<number, number>();
  for await (const event of events) {
    if (event.type === 'token') {
      const now = performance.now();
      if (firstToken) metrics.timeToFirstToken.observe((now - started) / 1000);
      firstToken = false;
      const last = lastTokenAt.get(event.sample);
      if (last !== undefined) metrics.perTokenLatency.observe((now - last) / 1000);
      lastTokenAt.set(event.sample, now);
    } else if (event.type === 'done') {
      metrics.tokens.inc({ kind: 'prompt' }, event.promptTokens);
      metrics.tokens.inc({ kind: 'completion' }, event.completionTokens);
      metrics.requestDuration.observe({ route }, (performance.now() - started) / 1000);
    }
    yield event;
  }
}

/** Drains a generation into its result. */
export async function collectGeneration(events: AsyncIterable<GenerationEvent>, keepTokens: boolean): Promise<GenerationResult> {
  const tokens = new Map<number, TokenEvent[]>();
  const samples: SampleResult[] = [];
  for await (const event of events) {
    if (event.type === 'token') {
      if (keepTokens) tokens.set(event.sample, [...(tokens.get(event.sample) ?? []), event]);
    } else if (event.type === 'sample_done') {
      samples[event.sample] = {
        text: event.text,
        finishReason: event.finishReason,
        completionTokens: event.completionTokens,
        ...(event.answer !== undefined ? { answer: event.answer } : {}),
        tokens: tokens.get(event.sample) ?? [],
      };
    } else {
      return {
        samples,
        promptTokens: event.promptTokens,
        completionTokens: event.completionTokens,
        prompt: event.prompt,
        ...(event.vote ? { vote: event.vote } : {}),
      };
    }
  }
  throw new Error('the generation ended without a done event');
}

/**
 * An AbortSignal that fires when the client goes away before its response is complete, so that the
 * engine stops decoding for nobody and frees the batch slot.
 */
export function clientGoneSignal(response: NodeJS.WritableStream & { writableFinished: boolean; once: NodeJS.EventEmitter['once'] }): AbortSignal {
  const controller = new AbortController();
  response.once('close', () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
}
