import { Worker } from 'node:worker_threads';
import type { GraphNodePlacement } from '../device/node-placement.ts';
import type { SessionConfig, Spinning } from '../onnx-session.ts';
import { DEFAULT_LIMITS, type EngineLimits } from './engine-core.ts';
import {
  EngineError,
  engineErrorFrom,
  type Engine,
  type EngineCommand,
  type EngineErrorData,
  type EngineReply,
  type EngineStats,
  type GenerationEvent,
  type GenerationRequest,
  type GenerationStream,
  type LoadedModelInfo,
  type ModelRef,
  type ScoreRequest,
  type ScoreResult,
} from './engine-api.ts';
import { EventChannel } from './event-channel.ts';
import type { EngineWorkerData } from './engine-worker.ts';
import { DEFAULT_ENGINE_NICE } from './thread-priority.ts';
import { DEFAULT_STALL_MS, WorkerWatch } from './worker-watch.ts';

/**
 * No vocabulary piece of a T5 tokenizer is longer than this many bytes, so a prompt longer than
 * maxPromptTokens times it cannot fit and is refused before anyone tokenizes it.
 */
export const MAX_BYTES_PER_TOKEN = 32;

export interface EngineClientOptions {
  limits?: Partial<EngineLimits>;
  session: SessionConfig;
  /** The worker thread's nice value (thread-priority.ts); DEFAULT_ENGINE_NICE when absent. */
  nice?: number;
  /** How long the worker may show no progress before the watchdog replaces it (worker-watch.ts); DEFAULT_STALL_MS when absent. */
  stallMs?: number;
  /** Told when the worker died or stalled and a new one was started (for the log). */
  onRestart?: (error: Error) => void;
  /** The worker's module; the engine worker when absent (tests wrap it to slow its runs down). */
  workerEntry?: URL;
}

interface PendingGeneration {
  channel: EventChannel<GenerationEvent>;
  accept: () => void;
  refuse: (error: EngineError) => void;
}

/**
 * The worker's young generation, MiB (V8's two semi-spaces and its new large-object space: 1 MiB
 * semi-spaces). Its garbage is short-lived and small (a step's feeds and outputs are array buffers,
 * outside the V8 heap), but V8's default lets the space grow to 48 MiB, resident for good. Served
 * flan-t5-small, 4 bursts of 32 requests, two runs each: peak RSS 798-820 MiB against 807-922 by
 * default, throughput no lower.
 */
export const WORKER_YOUNG_GENERATION_MB = 3;

/**
 * The engine's pool threads spin only while a run is in progress. Spinning between runs too
 * (onnxruntime's default) took the cores the HTTP thread needs (bench load, 64 streams on flan-mini:
 * 1.5x the requests without). Never spinning cost each of a decoder step's ~100 parallel sections a
 * sleeping thread's wake-up: served flan-t5-small, one streamed request of 64 + 64 tokens, the two
 * alternating: 6.60 vs 7.51 and 7.48 vs 8.47 ms/token, 32 concurrent 937 vs 828 tok/s (medians).
 */
export const ENGINE_SPINNING: Spinning = 'in-run';

/** How long past the grace period a closing worker may take to report its last requests. */
const CLOSE_MARGIN_MS = 2_000;
/** How long a closing worker's native call (a session run) may take to return before the worker is terminated anyway. */
const CLOSE_NATIVE_WAIT_MS = 30_000;

const STOPPED: EngineErrorData = { code: 'unavailable', message: 'the engine stopped while serving this request; retry it' };

const EMPTY_STATS: EngineStats = { queued: 0, running: 0, batchSize: 0, kvCacheBytes: 0, stepToDeviceBytes: 0, stepToHostBytes: 0, loadedModels: 0, modelBytes: 0 };

/**
 * The engine as the server thread sees it: the engine core runs in a worker thread and this proxy
 * speaks its message protocol (engine-api.ts). Only cheap checks happen here (a prompt too large to
 * ever fit is refused before it is copied to the worker). A worker that dies is replaced; its
 * in-flight requests end with an `unavailable` EngineError (a 503), never a hang.
 */
export class EngineClient implements Engine {
  private worker!: Worker;
  private watch!: WorkerWatch;
  private readonly watchdog: NodeJS.Timeout;
  private readonly stallMs: number;
  private nextId = 1;
  private readonly generations = new Map<number, PendingGeneration>();
  private readonly calls = new Map<number, { resolve: (v: LoadedModelInfo | ScoreResult | undefined) => void; reject: (e: EngineError) => void }>();
  /** Versions loaded on request (not merely used): loaded again in a replacement worker. */
  private readonly pinned = new Map<string, ModelRef>();
  private lastStats = EMPTY_STATS;
  private closing = false;
  readonly limits: EngineLimits;
  /** How many times the worker was replaced. */
  restarts = 0;
  /** The first loaded model's graphs, per execution provider (for the startup log and /metrics). */
  nodePlacement?: readonly GraphNodePlacement[];

  constructor(private readonly options: EngineClientOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.stallMs = options.stallMs ?? DEFAULT_STALL_MS;
    this.spawn();
    this.watchdog = setInterval(() => this.checkProgress(), this.beatMs).unref();
  }

  /** How often the worker reports progress and the watchdog looks: often enough to see a stall soon after the limit. */
  private get beatMs(): number {
    return Math.max(10, Math.min(1_000, Math.floor(this.stallMs / 4)));
  }

  get maxPromptBytes(): number {
    return this.limits.maxPromptTokens * MAX_BYTES_PER_TOKEN;
  }

  stats(): EngineStats {
    return this.lastStats;
  }

  generate(request: GenerationRequest): GenerationStream {
    if (this.closing) throw new EngineError('closed', 'the engine is shutting down');
    const { prompt } = request;
    const tooLong = typeof prompt === 'string' ? Buffer.byteLength(prompt) > this.maxPromptBytes : prompt.length > this.limits.maxPromptTokens;
    if (tooLong) {
      throw new EngineError('prompt_too_long', `the prompt is longer than the ${this.limits.maxPromptTokens} tokens this server accepts`, 'prompt');
    }
    if (request.signal?.aborted) throw new EngineError('invalid_request', 'the request was already cancelled');
    const id = this.nextId++;
    const cancel = () => this.post({ type: 'cancel', id });
    const channel = new EventChannel<GenerationEvent>(cancel);
    let accept!: () => void;
    let refuse!: (error: EngineError) => void;
    const accepted = new Promise<void>((resolve, reject) => ((accept = resolve), (refuse = reject)));
    accepted.catch(() => undefined);
    this.generations.set(id, {
      channel,
      accept,
      refuse: (error) => {
        refuse(error);
        channel.end(error);
      },
    });
    request.signal?.addEventListener('abort', cancel, { once: true });
    const { signal: _signal, ...data } = request;
    this.post({ type: 'generate', id, request: data });
    return Object.assign(channel, { accepted });
  }

  async load(model: ModelRef): Promise<LoadedModelInfo> {
    const info = (await this.call({ type: 'load', id: this.nextId++, model })) as LoadedModelInfo;
    this.pinned.set(model.id, model);
    this.nodePlacement ??= info.nodePlacement;
    return info;
  }

  async score(request: ScoreRequest): Promise<ScoreResult> {
    if (this.closing) throw new EngineError('closed', 'the engine is shutting down');
    return (await this.call({ type: 'score', id: this.nextId++, request })) as ScoreResult;
  }

  async unload(modelId: string): Promise<void> {
    this.pinned.delete(modelId);
    await this.call({ type: 'unload', id: this.nextId++, modelId });
  }

  async close(graceMs = 10_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // A worker stuck in a long synchronous call (a model load) must not hold shutdown past the grace.
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs + CLOSE_MARGIN_MS)));
    await Promise.race([this.call({ type: 'close', id: this.nextId++, graceMs }).catch(() => undefined), overdue]);
    clearTimeout(timer);
    clearInterval(this.watchdog);
    await this.stop(this.worker, this.watch, CLOSE_NATIVE_WAIT_MS);
  }

  /**
   * Terminates a worker once no native call of its is in flight (terminating it inside one aborts the
   * process: native-calls.ts): it is halted first, so none starts meanwhile. Past `waitMs` it is
   * terminated anyway: a call that never returns would otherwise pin a thread (and maybe a core) forever.
   */
  private async stop(worker: Worker, watch: WorkerWatch, waitMs: number): Promise<void> {
    watch.halt();
    await watch.settled(waitMs);
    await worker.terminate();
  }

  /**
   * The watchdog: a worker that shows no progress for stallMs of the time it could run (a step that
   * never ends, a loop that never yields; time spent waiting for a CPU does not count) is replaced as a
   * dead one is: its requests fail with 503 and a new worker serves. The old one is terminated once its
   * native call returns (waiting stallMs more at most).
   */
  private checkProgress(): void {
    const { silentMs, cpuWaitMs } = this.watch.silence();
    const stalledMs = Math.round(silentMs - cpuWaitMs);
    if (this.closing || stalledMs < this.stallMs) return;
    const where = this.watch.nativeCalls > 0 ? 'inside an onnxruntime call' : 'in JavaScript';
    const [worker, watch] = [this.worker, this.watch];
    const waited = cpuWaitMs >= 1 ? `, not counting ${Math.round(cpuWaitMs)} ms it waited for a CPU` : '';
    this.replace(new Error(`the engine worker made no progress for ${stalledMs} ms (${where})${waited}; it was replaced`));
    void this.stop(worker, watch, this.stallMs);
  }

  private call(command: Exclude<EngineCommand, { type: 'generate' | 'cancel' }>): Promise<LoadedModelInfo | ScoreResult | undefined> {
    return new Promise((resolve, reject) => {
      this.calls.set(command.id, { resolve, reject });
      this.post(command);
    });
  }

  private post(command: EngineCommand): void {
    this.worker.postMessage(command);
  }

  private spawn(): void {
    const watch = new WorkerWatch();
    const workerData: EngineWorkerData = {
      entry: (this.options.workerEntry ?? new URL('./engine-worker.ts', import.meta.url)).href,
      limits: this.limits,
      session: { ...this.options.session, spinning: this.options.session.spinning ?? ENGINE_SPINNING },
      nice: this.options.nice ?? DEFAULT_ENGINE_NICE,
      watch: watch.buffer,
      threadId: watch.threadIdBuffer,
      beatMs: this.beatMs,
    };
    const worker = new Worker(new URL('../worker-bootstrap.mjs', import.meta.url), { workerData, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    this.worker = worker;
    this.watch = watch;
    // A replaced worker's last words are not about the current requests.
    worker.on('message', (reply: EngineReply) => this.worker === worker && this.receive(reply));
    let failure: Error | undefined;
    worker.on('error', (err) => (failure = err));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      if (this.closing) return this.failInFlight(STOPPED);
      this.replace(failure ?? new Error(`the engine worker exited with code ${code}`));
    });
  }

  /** The current worker is gone or given up on: its requests fail with 503 and a new one takes over. */
  private replace(why: Error): void {
    this.failInFlight(STOPPED);
    this.restarts++;
    this.lastStats = EMPTY_STATS;
    this.options.onRestart?.(why);
    this.spawn();
    for (const model of this.pinned.values()) void this.load(model).catch(() => undefined);
  }

  private receive(reply: EngineReply): void {
    switch (reply.type) {
      case 'accepted':
        return this.generations.get(reply.id)?.accept();
      case 'failed': {
        const pending = this.generations.get(reply.id);
        this.generations.delete(reply.id);
        return pending?.refuse(engineErrorFrom(reply.error));
      }
      case 'events':
        this.lastStats = reply.stats;
        for (const [id, event] of reply.batch) {
          const pending = this.generations.get(id);
          if (!pending) continue;
          if (event.type === 'failure') {
            this.generations.delete(id);
            pending.channel.end(engineErrorFrom(event.error));
            continue;
          }
          pending.channel.push(event);
          if (event.type === 'done') {
            this.generations.delete(id);
            pending.channel.end();
          }
        }
        return;
      case 'result': {
        const call = this.calls.get(reply.id);
        this.calls.delete(reply.id);
        if (reply.error) call?.reject(engineErrorFrom(reply.error));
        else call?.resolve(reply.value);
      }
    }
  }

  private failInFlight(data: EngineErrorData): void {
    const error = engineErrorFrom(data);
    for (const pending of this.generations.values()) pending.refuse(error);
    this.generations.clear();
    for (const call of this.calls.values()) call.reject(error);
    this.calls.clear();
  }
}
