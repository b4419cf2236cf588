import { randomInt } from 'node:crypto';
import { basename, resolve } from 'node:path';
import type { GraphNodePlacement } from '../device/node-placement.ts';
import { sessionConfigFromEnv, type SessionConfig } from '../onnx-session.ts';
import { buildCotPrompt } from './chain-of-thought.ts';
import type { SchedulerLimits } from './decode-scheduler.ts';
import {
  EngineError,
  type Engine,
  type EngineStats,
  type GenerationEvent,
  type GenerationRequest,
  type GenerationStream,
  type LoadedModelInfo,
  type ModelRef,
  type SamplingOptions,
  type ScoreRequest,
  type ScoreResult,
} from './engine-api.ts';
import { EventChannel } from './event-channel.ts';
import { ModelRouter, type LoadedModel, type ModelLoader, type Route, type RouterLimits } from './model-router.ts';
import type { ScheduledRequest } from './output-processor.ts';
import { scoreCandidates } from './score-candidates.ts';
import { validateSampling } from './sampling-options.ts';

export interface EngineLimits extends SchedulerLimits, RouterLimits {
  maxPromptTokens: number;
  maxNewTokens: number;
  defaultMaxTokens: number;
}

export const DEFAULT_LIMITS: EngineLimits = {
  maxBatchSequences: 32,
  maxQueuedRequests: 256,
  maxKvCacheBytes: 2 * 2 ** 30,
  // Prompts' cross K/V kept for repeats: each distinct prompt stays until evicted, so this is memory held
  // for good under varied traffic (the server under rounds of 32 new 64-token prompts, flan-t5-small, 4
  // interleaved rounds: peak RSS median 1146 MiB at 256 MiB, 1026 at 32, tokens/s unchanged).
  encoderCacheBytes: 32 * 2 ** 20,
  // A burst after the trim faults its ~200 MiB back in (a page fault costs ~20 us in this VM: ~1 s for a
  // burst of 32 at flan-t5-small, 490 vs 610 tok/s in bench vs-hf); a process that never trims (glibc's
  // own default, and the Hugging Face peer's) keeps it for good.
  freedMemoryKeepMs: 30_000,
  maxPromptTokens: 2048,
  maxNewTokens: 1024,
  defaultMaxTokens: 256,
  modelMemoryBytes: 8 * 2 ** 30,
  adapterTargets: ['q', 'v'],
  adapterMemoryBytes: 512 * 2 ** 20,
  adapterIdleMs: 30 * 60_000,
};

export interface EngineOptions {
  /** A model directory in the Hugging Face layout, loaded as the engine's default model. */
  modelDir: string;
  /** Where the tokenizer lives when the model directory has none. */
  tokenizerDir?: string;
  /** The version id of that model; defaults to the directory's base name. */
  modelId?: string;
  session?: SessionConfig;
  limits?: Partial<EngineLimits>;
}

/** The ModelRef of a directory, named by `id` or by the directory's base name. */
export function modelRefFor(dir: string, id?: string, tokenizerDir?: string): ModelRef {
  return { id: id ?? basename(resolve(dir)), dir: resolve(dir), ...(tokenizerDir ? { tokenizerDir } : {}) };
}

/** An engine in this thread with one model loaded as its default: for the CLI, tests and benchmarks. */
export async function createEngine(options: EngineOptions): Promise<EngineCore> {
  const model = modelRefFor(options.modelDir, options.modelId, options.tokenizerDir);
  const engine = new EngineCore({ ...DEFAULT_LIMITS, ...options.limits }, options.session ?? sessionConfigFromEnv(), model);
  await engine.load(model);
  return engine;
}

/**
 * The engine core: validates and shapes requests (sampling defaults, chain-of-thought prompts,
 * self-consistency), tokenizes them, and hands them to the scheduler of the model version they name,
 * which the router loads on first use. It runs wherever it is made: in the engine worker behind the
 * server (engine-worker.ts), or in-process for the CLI and tests.
 */
export class EngineCore implements Engine {
  private readonly router: ModelRouter;
  private closed = false;

  constructor(
    readonly limits: EngineLimits,
    session: SessionConfig,
    /** The version a request without `model` runs on. */
    readonly defaultModel?: ModelRef,
    loader?: ModelLoader,
  ) {
    this.router = new ModelRouter(limits, session, loader);
  }

  stats(): EngineStats {
    const models = this.router.models();
    const adapters = this.router.loadedAdapters();
    const total: EngineStats = {
      queued: 0,
      running: 0,
      batchSize: 0,
      kvCacheBytes: 0,
      stepToDeviceBytes: 0,
      stepToHostBytes: 0,
      loadedModels: models.length + adapters.length,
      modelBytes: adapters.reduce((sum, a) => sum + a.bytes, 0),
    };
    for (const m of models) {
      const s = m.scheduler.stats();
      total.queued += s.queued;
      total.running += s.running;
      total.batchSize += s.batchSize;
      total.kvCacheBytes += s.kvCacheBytes;
      total.stepToDeviceBytes += s.stepToDeviceBytes;
      total.stepToHostBytes += s.stepToHostBytes;
      total.modelBytes += m.bytes;
    }
    return total;
  }

  get nodePlacement(): readonly GraphNodePlacement[] | undefined {
    return this.router.models()[0]?.runner.nodePlacement;
  }

  async load(model: ModelRef): Promise<LoadedModelInfo> {
    this.checkOpen();
    return this.router.info(await this.router.route(model), this.limits.maxPromptTokens);
  }

  /**
   * Rank classification on a version (loaded on demand), beside its decode batch. A pass on a loaded
   * version is registered before this returns, so an unload right after waits for it.
   */
  score(request: ScoreRequest): Promise<ScoreResult> {
    try {
      const ref = this.modelOf(request);
      // The scoring pass runs the bare base graphs; an adapter's rows would need its per-row feeds.
      if (ref.adapter) throw new EngineError('invalid_request', `scoring runs on base and finetuned versions; ${ref.adapter.id} is an adapter`, 'model');
      const loaded = this.router.get(ref)?.model;
      return loaded ? this.scoreOn(loaded, request) : this.router.acquire(ref).then((model) => this.scoreOn(model, request));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private scoreOn(model: LoadedModel, request: ScoreRequest): Promise<ScoreResult> {
    let promptIds: number[];
    try {
      promptIds = this.promptIds(model, request.prompt);
    } catch (err) {
      return Promise.reject(err);
    }
    const pass = scoreCandidates({ runner: model.runner, tokenizer: model.tokenizer, decoderStartTokenId: model.tokens.decoderStart }, promptIds, request.candidates);
    const settled = pass.catch(() => undefined);
    model.scoring.add(settled);
    void settled.finally(() => model.scoring.delete(settled));
    return pass.then((scores) => ({ scores, promptTokens: promptIds.length }));
  }

  async unload(modelId: string): Promise<void> {
    this.router.unload(modelId);
  }

  /**
   * Starts a request. A request for a loaded model is checked and queued before this returns (its
   * refusals throw here); one for a model not loaded yet is queued once the model has loaded.
   */
  generate(request: GenerationRequest): GenerationStream {
    const ref = this.modelOf(request);
    const loaded = this.router.get(ref);
    if (loaded) return this.start(loaded, request);
    return new DeferredStream(
      this.router.route(ref).then((route) => {
        this.checkOpen();
        return this.start(route, request);
      }),
    );
  }

  async close(graceMs = 10_000): Promise<void> {
    this.closed = true;
    await this.router.close(graceMs);
  }

  private start({ model, adapter }: Route, request: GenerationRequest): GenerationStream {
    const sc = request.selfConsistency;
    if (sc && (!Number.isInteger(sc.samples) || sc.samples < 1 || sc.samples > this.limits.maxBatchSequences)) {
      throw new EngineError('invalid_request', `self-consistency samples must be 1..${this.limits.maxBatchSequences}`, 'samples');
    }
    const options = this.resolveSampling(request);
    const cot = request.chainOfThought ?? (sc ? { mode: 'zero-shot' as const } : undefined);
    const { prompt, promptIds } = this.preparePrompt(model, request.prompt, cot);
    const { scheduler } = model;
    if (request.signal?.aborted) throw new EngineError('invalid_request', 'the request was already cancelled');
    const scheduled: ScheduledRequest = {
      prompt,
      promptIds,
      options,
      extractAnswers: cot !== undefined,
      vote: cot !== undefined && options.n > 1,
      channel: new EventChannel<GenerationEvent>(() => scheduler.cancel(scheduled), adapter && this.router.useAdapter(adapter)),
      cancelled: false,
      ...(adapter ? { adapter: adapter.id } : {}),
    };
    try {
      scheduler.submit(scheduled);
    } catch (err) {
      scheduled.channel.end(); // a refused request holds its adapter no longer
      throw err;
    }
    request.signal?.addEventListener('abort', () => scheduler.cancel(scheduled), { once: true });
    return Object.assign(scheduled.channel, { accepted: Promise.resolve() });
  }

  private checkOpen(): void {
    if (this.closed) throw new EngineError('closed', 'the engine is shutting down');
  }

  /** The version a request names, or the engine's default one. */
  private modelOf(request: { model?: ModelRef }): ModelRef {
    this.checkOpen();
    const ref = request.model ?? this.defaultModel;
    if (!ref) throw new EngineError('invalid_request', 'no model named', 'model');
    return ref;
  }

  private resolveSampling(request: GenerationRequest): SamplingOptions {
    const sc = request.selfConsistency;
    const merged = {
      ...request.sampling,
      ...(sc ? { n: sc.samples, temperature: sc.temperature } : {}),
    };
    const options = validateSampling(merged, this.limits);
    return { ...options, seed: options.seed ?? randomInt(2 ** 31) };
  }

  private preparePrompt(model: LoadedModel, input: string | number[], cot: GenerationRequest['chainOfThought']) {
    if (typeof input === 'string') {
      const prompt = cot ? buildCotPrompt(input, cot) : input;
      return { prompt, promptIds: this.promptIds(model, prompt) };
    }
    if (cot) throw new EngineError('invalid_request', 'chain of thought needs a text prompt, not token ids', 'prompt');
    return { promptIds: this.promptIds(model, input), prompt: model.tokenizer.decode(input, { skipSpecialTokens: false }) };
  }

  /** A prompt's token ids as the model takes them: ids in its vocabulary, at least one, at most the limit. */
  private promptIds(model: LoadedModel, input: string | number[]): number[] {
    const vocab = model.runner.config.vocabSize;
    if (typeof input !== 'string' && !input.every((id) => Number.isInteger(id) && id >= 0 && id < vocab)) {
      throw new EngineError('invalid_request', `token ids must be integers in [0, ${vocab})`, 'prompt');
    }
    const promptIds = typeof input === 'string' ? model.tokenizer.encode(input) : input;
    if (promptIds.length === 0) throw new EngineError('invalid_request', 'the prompt is empty', 'prompt');
    if (promptIds.length > this.limits.maxPromptTokens) {
      throw new EngineError(
        'prompt_too_long',
        `the prompt has ${promptIds.length} tokens; this model accepts at most ${this.limits.maxPromptTokens}`,
        'prompt',
      );
    }
    return promptIds;
  }
}

/**
 * The stream of a request whose engine-side stream exists only later (after a model load): iteration
 * waits for it; a refusal rejects `accepted` and is thrown by iteration.
 */
export class DeferredStream implements GenerationStream {
  readonly accepted: Promise<void>;

  constructor(private readonly inner: Promise<AsyncIterable<GenerationEvent>>) {
    this.accepted = inner.then(() => undefined);
    // Whoever iterates sees the refusal; nobody has to await `accepted`.
    this.accepted.catch(() => undefined);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<GenerationEvent> {
    yield* await this.inner;
  }
}
