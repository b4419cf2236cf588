import type { Tokenizer } from '../../../runtime/checkpoint/tokenizer.ts';
import {
  EngineError,
  type Engine,
  type EngineStats,
  type FinishReason,
  type GenerationEvent,
  type GenerationRequest,
  type GenerationStream,
  type LoadedModelInfo,
  type ModelRef,
  type ScoreResult,
} from '../../../runtime/engine/engine-api.ts';

export type Script = (request: GenerationRequest, engine: ScriptedEngine) => AsyncGenerator<GenerationEvent>;

/**
 * An Engine that plays a script instead of running a model, for what the real engine cannot be made
 * to do on cue: refuse with queue_full, stall until the client leaves, or be closed mid-request. It
 * records every request, so tests can check what the server asked for.
 */
export class ScriptedEngine implements Engine {
  readonly requests: GenerationRequest[] = [];
  readonly maxPromptTokens = 512;
  /** Thrown synchronously by the next generate() call. */
  refuseNext?: EngineError;
  private closeRequested!: (graceMs: number) => void;
  /** Resolves with the grace period once the server closes the engine. */
  readonly closing = new Promise<number>((resolve) => (this.closeRequested = resolve));

  constructor(
    readonly modelId: string,
    readonly tokenizer: Tokenizer,
    private readonly script: Script,
  ) {}

  /** A script plays generation only; scoring is the real engine's (test/engine/score-candidates.test.ts). */
  async score(): Promise<ScoreResult> {
    throw new EngineError('invalid_request', 'the scripted engine does not score');
  }

  generate(request: GenerationRequest): GenerationStream {
    const refusal = this.refuseNext;
    this.refuseNext = undefined;
    if (refusal) throw refusal;
    this.requests.push(request);
    return Object.assign(this.track(this.script(request, this)), { accepted: Promise.resolve() });
  }

  /** Nothing to load: the script is the model. */
  async load(model: ModelRef): Promise<LoadedModelInfo> {
    return { id: model.id, bytes: 0, maxPromptTokens: this.maxPromptTokens, nodePlacement: [] };
  }

  async unload(): Promise<void> {}

  private running = 0;
  private idleWaiters: (() => void)[] = [];

  private async *track(events: AsyncGenerator<GenerationEvent>): AsyncGenerator<GenerationEvent> {
    this.running++;
    try {
      yield* events;
    } finally {
      if (--this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  stats(): EngineStats {
    return { queued: 0, running: 0, batchSize: 0, kvCacheBytes: 0, stepToDeviceBytes: 0, stepToHostBytes: 0, loadedModels: 0, modelBytes: 0 };
  }

  /** Like the real engine, resolves once every request in flight has ended (the scripts decide how). */
  async close(graceMs = 0): Promise<void> {
    this.closeRequested(graceMs);
    if (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}

/** The events of one sample that says `pieces` and finishes with `finish`. */
export function* sampleEvents(pieces: string[], finish: FinishReason, sample = 0, answer?: string): Generator<GenerationEvent> {
  for (const [i, text] of pieces.entries()) yield { type: 'token', sample, tokenId: 100 + i, text };
  yield { type: 'sample_done', sample, text: pieces.join(''), finishReason: finish, completionTokens: pieces.length, ...(answer ? { answer } : {}) };
}

export const aborted = (signal: AbortSignal | undefined) =>
  new Promise<void>((resolve) => {
    if (!signal) throw new Error('the server passed no AbortSignal');
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
