import type { LoraAdapter } from '../checkpoint/lora-adapter.ts';
import type { Tokenizer } from '../checkpoint/tokenizer.ts';
import { cancelFreedMemoryReturn, returnFreedMemoryWhenIdle } from '../freed-memory.ts';
import { yieldToEventLoop, type T5Runner } from '../t5-runner.ts';
import { BASE_ADAPTER } from './adapter-slots.ts';
import { DecodeRunner } from './decode-runner.ts';
import { EngineError, type EngineStats } from './engine-api.ts';
import { OutputProcessor, type ScheduledRequest, type Sequence } from './output-processor.ts';
import { needsLogits } from './sampler.ts';

export type { ScheduledRequest } from './output-processor.ts';

export interface SchedulerLimits {
  /** Sequences decoded together at most (a request with n samples takes n). */
  maxBatchSequences: number;
  /** Requests waiting for a slot before new ones are refused with queue_full. */
  maxQueuedRequests: number;
  /** Budget for the batch's KV caches (self and cross attention), in bytes. */
  maxKvCacheBytes: number;
  /** Budget for the encoder-output cache, in bytes. */
  encoderCacheBytes: number;
  /** How long memory a burst freed is kept for the next burst before it goes back to the kernel. */
  freedMemoryKeepMs: number;
}

export interface TokenIds {
  decoderStart: number;
  eos: number[];
}

/**
 * Iteration-level batching over the batch slots of one model: between two decoder steps, finished and
 * cancelled sequences leave and every request that arrived meanwhile joins at once (their encoder
 * passes run as one batch). It decides who runs; the DecodeRunner runs them and the OutputProcessor
 * turns logits into events. Each sequence samples from its own seeded generator, so its output does
 * not depend on its batch-mates.
 */
export class DecodeScheduler {
  private readonly queue: ScheduledRequest[] = [];
  private running: Sequence[] = [];
  private readonly runner: DecodeRunner;
  private readonly output: OutputProcessor;
  private looping = false;
  /** Resolves when the loop has nothing left to do; close() waits on it. */
  private idleWaiters: (() => void)[] = [];

  constructor(
    runner: T5Runner,
    tokenizer: Tokenizer,
    private readonly tokens: TokenIds,
    readonly limits: SchedulerLimits,
  ) {
    this.runner = new DecodeRunner(runner, limits.encoderCacheBytes);
    this.output = new OutputProcessor(tokenizer, tokens.eos);
  }

  stats(): Pick<EngineStats, 'queued' | 'running' | 'batchSize' | 'kvCacheBytes' | 'stepToDeviceBytes' | 'stepToHostBytes'> {
    const transfers = this.runner.transferStats();
    return {
      queued: this.queue.length,
      running: this.output.active - this.queue.length,
      batchSize: this.running.filter((s) => !s.finish).length,
      kvCacheBytes: this.runner.kvCacheBytes(),
      stepToDeviceBytes: transfers.lastStepToDeviceBytes,
      stepToHostBytes: transfers.lastStepToHostBytes,
    };
  }

  /** Whether a request is queued or running. */
  get busy(): boolean {
    return this.looping || this.output.active > 0;
  }

  submit(request: ScheduledRequest): void {
    if (request.options.n > this.limits.maxBatchSequences) {
      throw new EngineError('invalid_request', `n must be at most ${this.limits.maxBatchSequences}`, 'n');
    }
    if (this.queue.length >= this.limits.maxQueuedRequests) {
      throw new EngineError('queue_full', 'the server is at capacity; retry shortly', undefined, 1);
    }
    this.queue.push(request);
    this.output.start(request);
    this.kick();
  }

  /** Marks a request cancelled; its sequences leave the batch before the next step. */
  cancel(request: ScheduledRequest): void {
    request.cancelled = true;
    const queued = this.queue.indexOf(request);
    if (queued !== -1) {
      this.queue.splice(queued, 1);
      this.output.cancelQueued(request);
    }
    this.kick();
  }

  /** Cancels everything queued or running (shutdown past its grace period). */
  cancelAll(): void {
    for (const request of this.output.requests()) this.cancel(request);
  }

  /** Waits until nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.looping) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  release(): Promise<void> {
    return this.runner.release();
  }

  /** Whether requests may name an adapter over this model (its graphs were built with adapter inputs). */
  get takesAdapters(): boolean {
    return this.runner.adapters !== undefined;
  }

  /** Loads an adapter so that requests naming it join this model's batch (hot: no new session). */
  addAdapter(id: string, adapter: LoraAdapter): void {
    if (!this.runner.adapters) throw new EngineError('model_load_failed', 'this model takes no adapters', 'model');
    this.runner.adapters.add(id, adapter);
  }

  /** Unloads an adapter once no queued or running request uses it. */
  retireAdapter(id: string): void {
    this.runner.adapters?.retire(id);
    if (!this.looping) this.collectAdapters();
  }

  /** Frees the slots of retired adapters that no queued or running sequence names. */
  private collectAdapters(): void {
    const inUse = new Set([...this.runner.adaptersInUse(), ...this.queue.map((r) => r.adapter ?? BASE_ADAPTER)]);
    this.runner.adapters?.collect(inUse);
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    cancelFreedMemoryReturn();
    // Run the loop outside the caller's stack so submit() returns before any model work.
    setImmediate(() => void this.loop());
  }

  private async loop(): Promise<void> {
    try {
      while (this.queue.length || this.running.length) {
        try {
          await this.reschedule();
          if (this.running.length) await this.step();
        } catch (err) {
          this.failAll(err);
        }
        // onnxruntime's run holds the thread; requests that arrived meanwhile join at the next step.
        await yieldToEventLoop();
      }
    } finally {
      this.looping = false;
      // What the burst's runs freed (onnxruntime's intermediates, the encoder's outputs) goes back in a pause.
      returnFreedMemoryWhenIdle(this.limits.freedMemoryKeepMs);
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Between steps: drop finished and cancelled sequences, admit what fits from the queue. */
  private async reschedule(): Promise<void> {
    const keep: number[] = [];
    this.running.forEach((seq, i) => {
      if (seq.request.cancelled && !seq.finish) this.output.endSequence(seq, 'cancelled');
      if (!seq.finish) keep.push(i);
    });
    const admitted = this.admit(keep.map((i) => this.running[i]));
    if (keep.length === this.running.length && admitted.length === 0) return;
    const newSequences = admitted.flatMap((request) =>
      Array.from({ length: request.options.n }, (_, sample) => this.output.newSequence(request, sample)),
    );
    const running = [...keep.map((i) => this.running[i]), ...newSequences];
    await this.runner.repack(
      keep,
      newSequences.map((s) => ({ promptIds: s.request.promptIds, adapter: s.request.adapter ?? BASE_ADAPTER })),
      Math.max(0, ...running.map((s) => s.request.options.maxTokens - s.ids.length)),
    );
    this.running = running;
    this.collectAdapters();
  }

  private admit(staying: Sequence[]): ScheduledRequest[] {
    let sequences = staying.length;
    let bytes = staying.reduce((sum, s) => sum + this.reservedBytes(s.request), 0);
    const admitted: ScheduledRequest[] = [];
    while (this.queue.length) {
      const next = this.queue[0];
      const need = next.options.n;
      const nextBytes = this.reservedBytes(next) * need;
      const fits = sequences + need <= this.limits.maxBatchSequences && bytes + nextBytes <= this.limits.maxKvCacheBytes;
      // An empty batch always takes the next request, however large, so nothing waits forever.
      if (!fits && sequences > 0) break;
      admitted.push(this.queue.shift()!);
      sequences += need;
      bytes += nextBytes;
    }
    return admitted;
  }

  /** What one sequence of a request may grow to: its prompt's cross K/V and its full output. */
  private reservedBytes(request: ScheduledRequest): number {
    return (request.promptIds.length + request.options.maxTokens) * this.runner.perTokenKvBytes;
  }

  private async step(): Promise<void> {
    const batch = this.running;
    const lastTokens = batch.map((s) => (s.ids.length ? s.ids[s.ids.length - 1] : this.tokens.decoderStart));
    const logitRows = batch.flatMap((s, b) => (!s.finish && needsLogits(s.request.options) ? [b] : []));
    const { logits, logitRows: held, greedyIds } = await this.runner.step(lastTokens, { logits: logitRows });
    const vocab = this.runner.vocabSize;
    batch.forEach((seq, b) => {
      if (seq.finish) return;
      if (seq.request.cancelled) return this.output.endSequence(seq, 'cancelled');
      // Where the step read back only the rows asked for, row b's logits are at its place among them.
      const at = held ? held.indexOf(b) : b;
      this.output.acceptLogits(seq, at < 0 ? undefined : logits?.subarray(at * vocab, (at + 1) * vocab), Number(greedyIds[b]));
    });
  }

  /** A failed model run fails the requests in flight, not the engine: the batch starts over empty. */
  private failAll(err: unknown): void {
    const error = new EngineError('internal', `generation failed: ${(err as Error).message ?? String(err)}`);
    for (const r of new Set(this.running.map((s) => s.request))) this.output.fail(r, error);
    this.running = [];
    this.runner.clear();
  }
}
