import type { Tokenizer } from '../checkpoint/tokenizer.ts';
import { SeededRandom } from '../seeded-random.ts';
import { extractAnswer, voteAnswers } from './chain-of-thought.ts';
import type { FinishReason, GenerationEvent, SamplingOptions } from './engine-api.ts';
import type { EventChannel } from './event-channel.ts';
import { chooseToken, toTokenLogprob, type SequenceSampler } from './sampler.ts';
import { TextStream } from './text-stream.ts';

/** A request as the engine holds it: resolved options, its event channel and whether to extract answers. */
export interface ScheduledRequest {
  promptIds: number[];
  prompt: string;
  options: SamplingOptions;
  /** Extract an answer from each sample and vote (chain of thought / self-consistency). */
  extractAnswers: boolean;
  vote: boolean;
  channel: EventChannel<GenerationEvent>;
  cancelled: boolean;
  /** The LoRA adapter its rows run with over the model's base (BASE_ADAPTER or absent: none). */
  adapter?: string;
}

/** One sample of a request: the tokens it has, its sampler and its text so far. */
export interface Sequence {
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
 * What happens to a step's logits once the model has run: sampling each row, incremental
 * detokenizing, stop sequences, finishing samples, chain-of-thought answer extraction and the
 * self-consistency vote, as events on each request's channel. It knows nothing of batches or tensors.
 */
export class OutputProcessor {
  private readonly progress = new Map<ScheduledRequest, RequestProgress>();

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly eos: readonly number[],
  ) {}

  /** Requests started and not yet done. */
  get active(): number {
    return this.progress.size;
  }

  requests(): ScheduledRequest[] {
    return [...this.progress.keys()];
  }

  start(request: ScheduledRequest): void {
    this.progress.set(request, { remaining: request.options.n, completionTokens: 0, answers: [] });
  }

  newSequence(request: ScheduledRequest, sample: number): Sequence {
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

  /** Samples the sequence's next token from its logits row and emits it; may finish the sequence. */
  acceptLogits(seq: Sequence, row: Float32Array | undefined, modelArgmax: number): void {
    const { options } = seq.request;
    const choice = chooseToken(row, options, seq.sampler, modelArgmax);
    seq.ids.push(choice.tokenId);
    const isEos = this.eos.includes(choice.tokenId);
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

  endSequence(seq: Sequence, reason: FinishReason): void {
    seq.finish = reason;
    const answer = seq.request.extractAnswers ? extractAnswer(seq.text.text) : undefined;
    this.finishSample(seq.request, seq.sample, seq.text.text, reason, seq.ids.length, answer);
  }

  /** A request cancelled before any of its samples ran. */
  cancelQueued(request: ScheduledRequest): void {
    for (let sample = 0; sample < request.options.n; sample++) this.finishSample(request, sample, '', 'cancelled', 0, undefined);
  }

  /** Ends a request's stream with an error (a failed model run). */
  fail(request: ScheduledRequest, error: unknown): void {
    this.progress.delete(request);
    request.channel.end(error);
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
}
