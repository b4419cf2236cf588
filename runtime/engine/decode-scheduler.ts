import { LRUCache } from 'lru-cache';
import type { Tokenizer } from '../checkpoint/tokenizer.ts';
import { int64Feed } from '../onnx-session.ts';
import { SeededRandom } from '../seeded-random.ts';
import type { T5Runner } from '../t5-runner.ts';
import { BatchKVCache, sliceCrossRow, type CrossKV } from './batch-kv-cache.ts';
import { extractAnswer, voteAnswers } from './chain-of-thought.ts';
import { EngineError, type EngineStats, type FinishReason, type GenerationEvent, type SamplingOptions } from './engine-api.ts';
import type { EventChannel } from './event-channel.ts';
import { chooseToken, toTokenLogprob, type SequenceSampler } from './sampler.ts';
import { TextStream } from './text-stream.ts';

export interface SchedulerLimits {
  /** Sequences decoded together at most (a request with n samples takes n). */
  maxBatchSequences: number;
  /** Requests waiting for a slot before new ones are refused with queue_full. */
  maxQueuedRequests: number;
  /** Budget for the batch's KV caches (self and cross attention), in bytes. */
  maxKvCacheBytes: number;
  /** Budget for the encoder-output cache, in bytes. */
  encoderCacheBytes: number;
}

export interface TokenIds {
  decoderStart: number;
  eos: number[];
}

/** A request as the scheduler holds it: resolved options, its event channel and its samples' state. */
export interface ScheduledRequest {
  promptIds: number[];
  prompt: string;
  options: SamplingOptions;
  /** Extract an answer from each sample and vote (chain of thought / self-consistency). */
  extractAnswers: boolean;
  vote: boolean;
  channel: EventChannel<GenerationEvent>;
  cancelled: boolean;
}

interface Sequence {
  request: ScheduledRequest;
  sample: number;
  ids: number[];
  sampler: SequenceSampler;
  text: TextStream;
  finish?: FinishReason;
}

interface RequestProgress {
  remaining: number;
  completionTokens: number;
  answers: (string | undefined)[];
}

/**
 * Iteration-level batching for an encoder-decoder: between two decoder steps, finished and cancelled
 * sequences leave and queued requests run their encoder (or hit the encoder cache) and join. Each
 * sequence samples from its own seeded generator, so its output does not depend on its batch-mates.
 */
export class DecodeScheduler {
  private readonly queue: ScheduledRequest[] = [];
  private running: Sequence[] = [];
  private readonly progress = new Map<ScheduledRequest, RequestProgress>();
  private readonly cache: BatchKVCache;
  private readonly encoderCache: LRUCache<string, CrossKV>;
  private looping = false;
  private readonly perTokenKvBytes: number;
  /** Resolves when the loop has nothing left to do; close() waits on it. */
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly runner: T5Runner,
    private readonly tokenizer: Tokenizer,
    private readonly tokens: TokenIds,
    readonly limits: SchedulerLimits,
  ) {
    const c = runner.config;
    this.cache = new BatchKVCache(c.numDecoderLayers, c.numHeads, c.dKv);
    this.perTokenKvBytes = 2 * c.numDecoderLayers * c.numHeads * c.dKv * 4;
    this.encoderCache = new LRUCache<string, CrossKV>({
      maxSize: Math.max(1, limits.encoderCacheBytes),
      sizeCalculation: (entry) => Math.max(1, entry.tensors.reduce((s, t) => s + t.byteLength, 0)),
    });
  }

  stats(): EngineStats {
    return {
      queued: this.queue.length,
      running: this.progress.size - this.queue.length,
      batchSize: this.running.length,
      kvCacheBytes: this.cache.bytes(),
    };
  }

  submit(request: ScheduledRequest): void {
    if (request.options.n > this.limits.maxBatchSequences) {
      throw new EngineError('invalid_request', `n must be at most ${this.limits.maxBatchSequences}`, 'n');
    }
    if (this.queue.length >= this.limits.maxQueuedRequests) {
      throw new EngineError('queue_full', 'the server is at capacity; retry shortly', undefined, 1);
    }
    this.queue.push(request);
    this.progress.set(request, { remaining: request.options.n, completionTokens: 0, answers: [] });
    this.kick();
  }

  /** Marks a request cancelled; its sequences leave the batch before the next step. */
  cancel(request: ScheduledRequest): void {
    request.cancelled = true;
    const queued = this.queue.indexOf(request);
    if (queued !== -1) {
      this.queue.splice(queued, 1);
      for (let sample = 0; sample < request.options.n; sample++) this.finishSample(request, sample, '', 'cancelled', 0, undefined);
    }
    this.kick();
  }

  /** Cancels everything queued or running (shutdown past its grace period). */
  cancelAll(): void {
    for (const request of [...this.progress.keys()]) this.cancel(request);
  }

  /** Waits until nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.looping) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
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
      }
    } finally {
      this.looping = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Between steps: drop finished and cancelled sequences, admit what fits from the queue. */
  private async reschedule(): Promise<void> {
    const keep: number[] = [];
    this.running.forEach((seq, i) => {
      if (seq.request.cancelled && !seq.finish) this.endSequence(seq, 'cancelled');
      if (!seq.finish) keep.push(i);
    });
    const admitted = this.admit(keep.map((i) => this.running[i]));
    if (keep.length === this.running.length && admitted.length === 0) return;
    const joining = await this.encode(admitted);
    const newSequences = admitted.flatMap((request) =>
      Array.from({ length: request.options.n }, (_, sample) => this.newSequence(request, sample)),
    );
    this.cache.repack(
      keep,
      newSequences.map((s) => joining.get(s.request)!),
    );
    this.running = [...keep.map((i) => this.running[i]), ...newSequences];
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
    return (request.promptIds.length + request.options.maxTokens) * this.perTokenKvBytes;
  }

  /** Runs the encoder once per distinct uncached prompt (batched), returning each request's cross K/V. */
  private async encode(requests: ScheduledRequest[]): Promise<Map<ScheduledRequest, CrossKV>> {
    const result = new Map<ScheduledRequest, CrossKV>();
    const missing = new Map<string, number[]>();
    for (const r of requests) {
      const key = r.promptIds.join(',');
      const hit = this.encoderCache.get(key);
      if (hit) result.set(r, hit);
      else missing.set(key, r.promptIds);
    }
    if (missing.size) {
      const prompts = [...missing.values()];
      const width = Math.max(...prompts.map((p) => p.length));
      const ids = prompts.map((p) => [...p, ...new Array<number>(width - p.length).fill(0)]);
      const mask = prompts.map((p) => p.map(() => 1).concat(new Array<number>(width - p.length).fill(0)));
      const states = await this.runner.encode(int64Feed(ids), int64Feed(mask));
      const cross = await this.runner.crossKeyValues(states);
      [...missing.keys()].forEach((key, b) => this.encoderCache.set(key, sliceCrossRow(cross, b, prompts[b].length)));
    }
    for (const r of requests) if (!result.has(r)) result.set(r, this.encoderCache.get(r.promptIds.join(','))!);
    return result;
  }

  private newSequence(request: ScheduledRequest, sample: number): Sequence {
    // Samples of one request draw from distinct, reproducible streams.
    const seed = ((request.options.seed ?? 0) + Math.imul(sample, 0x9e3779b1)) | 0;
    return {
      request,
      sample,
      ids: [],
      sampler: { rng: SeededRandom.fromSeed(seed), counts: new Map() },
      text: new TextStream(this.tokenizer, request.options.stop),
    };
  }

  private async step(): Promise<void> {
    const batch = this.running;
    const lastTokens = batch.map((s) => [s.ids.length ? s.ids[s.ids.length - 1] : this.tokens.decoderStart]);
    const { logits, greedyIds, newKV } = await this.runner.decodeStep({
      inputIds: int64Feed(lastTokens),
      encoderAttentionMask: this.cache.encoderMask,
      ...this.cache.selfAttentionFeeds(),
      past: this.cache.past,
      cross: this.cache.cross,
    });
    this.cache.append(newKV);
    const vocab = this.runner.config.vocabSize;
    const data = logits.data as Float32Array;
    batch.forEach((seq, b) => {
      if (seq.finish) return;
      if (seq.request.cancelled) return this.endSequence(seq, 'cancelled');
      this.emitToken(seq, data.subarray(b * vocab, (b + 1) * vocab), Number(greedyIds[b]));
    });
  }

  private emitToken(seq: Sequence, row: Float32Array, modelArgmax: number): void {
    const { options } = seq.request;
    const choice = chooseToken(row, options, seq.sampler, modelArgmax);
    seq.ids.push(choice.tokenId);
    const isEos = this.tokens.eos.includes(choice.tokenId);
    const pushed = isEos ? { delta: '', stopped: false } : seq.text.push(choice.tokenId);
    const finish: FinishReason | undefined =
      isEos || pushed.stopped ? 'stop' : seq.ids.length >= options.maxTokens ? 'length' : undefined;
    // The last token also carries the text held back for a possible stop sequence.
    const delta = finish && !pushed.stopped ? pushed.delta + seq.text.finish() : pushed.delta;
    const tokenText = (id: number) => this.tokenizer.decode([id], { skipSpecialTokens: false });
    seq.request.channel.push({
      type: 'token',
      sample: seq.sample,
      tokenId: choice.tokenId,
      text: delta,
      ...(choice.logprob !== undefined
        ? { logprob: choice.logprob, topLogprobs: choice.topLogprobs!.map((e) => toTokenLogprob(tokenText, e)) }
        : {}),
    });
    if (finish) this.endSequence(seq, finish);
  }

  private endSequence(seq: Sequence, reason: FinishReason): void {
    seq.finish = reason;
    const answer = seq.request.extractAnswers ? extractAnswer(seq.text.text) : undefined;
    this.finishSample(seq.request, seq.sample, seq.text.text, reason, seq.ids.length, answer);
  }

  private finishSample(
    request: ScheduledRequest,
    sample: number,
    text: string,
    finishReason: FinishReason,
    completionTokens: number,
    answer: string | undefined,
  ): void {
    const p = this.progress.get(request);
    if (!p) return;
    request.channel.push({ type: 'sample_done', sample, text, finishReason, completionTokens, ...(answer !== undefined ? { answer } : {}) });
    p.remaining -= 1;
    p.completionTokens += completionTokens;
    p.answers[sample] = answer;
    if (p.remaining > 0) return;
    this.progress.delete(request);
    const vote = request.vote ? voteAnswers(p.answers) : undefined;
    request.channel.push({
      type: 'done',
      promptTokens: request.promptIds.length,
      completionTokens: p.completionTokens,
      prompt: request.prompt,
      ...(vote ? { vote } : {}),
    });
    request.channel.end();
  }

  /** A failed model run fails the requests in flight, not the engine: the batch starts over empty. */
  private failAll(err: unknown): void {
    const error = new EngineError('internal', `generation failed: ${(err as Error).message ?? String(err)}`);
    const requests = new Set(this.running.map((s) => s.request));
    for (const r of requests) {
      this.progress.delete(r);
      r.channel.end(error);
    }
    this.running = [];
    this.cache.repack([], []);
  }
}
