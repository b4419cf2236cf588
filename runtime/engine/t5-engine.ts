import { randomInt } from 'node:crypto';
import { loadModelDir } from '../checkpoint/model-dir.ts';
import { ModelLoadError } from '../checkpoint/model-load-error.ts';
import { checkWeightsFinite } from '../checkpoint/servable-check.ts';
import type { Tokenizer } from '../checkpoint/tokenizer.ts';
import { sessionConfigFromEnv, type SessionConfig } from '../onnx-session.ts';
import { T5Runner, yieldToEventLoop } from '../t5-runner.ts';
import { buildCotPrompt } from './chain-of-thought.ts';
import { DecodeScheduler, type ScheduledRequest, type SchedulerLimits, type TokenIds } from './decode-scheduler.ts';
import {
  EngineError,
  type Engine,
  type EngineStats,
  type GenerationEvent,
  type GenerationRequest,
  type SamplingOptions,
} from './engine-api.ts';
import { EventChannel } from './event-channel.ts';
import { validateSampling } from './sampling-options.ts';

export interface EngineOptions {
  /** A model directory in the Hugging Face layout. */
  modelDir: string;
  /** Where the tokenizer lives when the model directory has none. */
  tokenizerDir?: string;
  /** The name clients use for this model; defaults to the directory's base name. */
  modelId?: string;
  session?: SessionConfig;
  limits?: Partial<EngineLimits>;
}

export interface EngineLimits extends SchedulerLimits {
  maxPromptTokens: number;
  maxNewTokens: number;
  defaultMaxTokens: number;
}

export const DEFAULT_LIMITS: EngineLimits = {
  maxBatchSequences: 32,
  maxQueuedRequests: 256,
  maxKvCacheBytes: 2 * 2 ** 30,
  encoderCacheBytes: 256 * 2 ** 20,
  maxPromptTokens: 2048,
  maxNewTokens: 1024,
  defaultMaxTokens: 256,
};

/** A loaded model version the engine can serve. */
export interface ServedModel {
  modelId: string;
  runner: T5Runner;
  tokenizer: Tokenizer;
  tokens: TokenIds;
}

export async function loadServedModel(options: Omit<EngineOptions, 'limits'>): Promise<ServedModel> {
  const model = loadModelDir(options.modelDir, { tokenizerDir: options.tokenizerDir, requireTokenizer: true });
  if (!model.tokenizer) throw new ModelLoadError(options.modelDir, 'no tokenizer');
  checkWeightsFinite(model.weights, model.dir);
  await yieldToEventLoop(); // reading the weights ran synchronously; let waiting requests hear 503
  const runner = await T5Runner.fromWeights(model.config, model.weights, options.session ?? sessionConfigFromEnv());
  return {
    modelId: options.modelId ?? model.dir.replace(/\/+$/, '').split('/').pop()!,
    runner,
    tokenizer: model.tokenizer,
    tokens: { decoderStart: model.generationConfig.decoderStartTokenId, eos: model.generationConfig.eosTokenIds },
  };
}

export async function createEngine(options: EngineOptions): Promise<T5Engine> {
  return new T5Engine(await loadServedModel(options), { ...DEFAULT_LIMITS, ...options.limits });
}

/**
 * The engine behind the API: validates and shapes requests (sampling defaults, chain-of-thought
 * prompts, self-consistency), hands them to the scheduler and streams their events back. Swapping the
 * model starts a new scheduler for new requests while the old one drains on the weights it started with.
 */
export class T5Engine implements Engine {
  private scheduler: DecodeScheduler;
  private served: ServedModel;
  private draining = new Set<Promise<void>>();
  private closed = false;

  constructor(
    served: ServedModel,
    readonly limits: EngineLimits,
  ) {
    this.served = served;
    this.scheduler = new DecodeScheduler(served.runner, served.tokenizer, served.tokens, limits);
  }

  get modelId(): string {
    return this.served.modelId;
  }

  get tokenizer(): Tokenizer {
    return this.served.tokenizer;
  }

  get maxPromptTokens(): number {
    return this.limits.maxPromptTokens;
  }

  stats(): EngineStats {
    return this.scheduler.stats();
  }

  generate(request: GenerationRequest): AsyncIterable<GenerationEvent> {
    if (this.closed) throw new EngineError('closed', 'the engine is shutting down');
    const sc = request.selfConsistency;
    if (sc && (!Number.isInteger(sc.samples) || sc.samples < 1 || sc.samples > this.limits.maxBatchSequences)) {
      throw new EngineError('invalid_request', `self-consistency samples must be 1..${this.limits.maxBatchSequences}`, 'samples');
    }
    const options = this.resolveSampling(request);
    const cot = request.chainOfThought ?? (sc ? { mode: 'zero-shot' as const } : undefined);
    const { prompt, promptIds } = this.preparePrompt(request.prompt, cot);
    const scheduler = this.scheduler;
    const scheduled: ScheduledRequest = {
      prompt,
      promptIds,
      options,
      extractAnswers: cot !== undefined,
      vote: cot !== undefined && options.n > 1,
      channel: new EventChannel<GenerationEvent>(() => scheduler.cancel(scheduled)),
      cancelled: false,
    };
    if (request.signal?.aborted) throw new EngineError('invalid_request', 'the request was already cancelled');
    scheduler.submit(scheduled);
    request.signal?.addEventListener('abort', () => scheduler.cancel(scheduled), { once: true });
    return scheduled.channel;
  }

  /**
   * Serves `next` to new requests from now on; requests in flight finish on the old weights, whose
   * sessions are released once they drain.
   */
  swapModel(next: ServedModel): void {
    const old = this.scheduler;
    const oldRunner = this.served.runner;
    this.served = next;
    this.scheduler = new DecodeScheduler(next.runner, next.tokenizer, next.tokens, this.limits);
    const drained = old.idle().then(() => oldRunner.release());
    this.draining.add(drained);
    void drained.finally(() => this.draining.delete(drained));
  }

  async close(graceMs = 10_000): Promise<void> {
    this.closed = true;
    const idle = this.scheduler.idle();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
    if (await Promise.race([idle.then(() => false), timedOut])) this.scheduler.cancelAll();
    clearTimeout(timer);
    await idle;
    await Promise.all(this.draining);
    await this.served.runner.release();
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

  private preparePrompt(input: string | number[], cot: GenerationRequest['chainOfThought']) {
    const tokenizer = this.served.tokenizer;
    let prompt: string;
    let promptIds: number[];
    if (typeof input === 'string') {
      prompt = cot ? buildCotPrompt(input, cot) : input;
      promptIds = tokenizer.encode(prompt);
    } else {
      if (cot) throw new EngineError('invalid_request', 'chain of thought needs a text prompt, not token ids', 'prompt');
      const vocab = this.served.runner.config.vocabSize;
      if (!input.every((id) => Number.isInteger(id) && id >= 0 && id < vocab)) {
        throw new EngineError('invalid_request', `token ids must be integers in [0, ${vocab})`, 'prompt');
      }
      promptIds = input;
      prompt = tokenizer.decode(input, { skipSpecialTokens: false });
    }
    if (promptIds.length === 0) throw new EngineError('invalid_request', 'the prompt is empty', 'prompt');
    if (promptIds.length > this.limits.maxPromptTokens) {
      throw new EngineError(
        'prompt_too_long',
        `the prompt has ${promptIds.length} tokens; this model accepts at most ${this.limits.maxPromptTokens}`,
        'prompt',
      );
    }
    return { prompt, promptIds };
  }
}
