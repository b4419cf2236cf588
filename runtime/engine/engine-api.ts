import type { CandidateScore } from './score-candidates.ts';
import type { Tokenizer } from '../checkpoint/tokenizer.ts';

/**
 * What the engine offers the layers above it (server, eval, CLI). It knows nothing of HTTP: requests are
 * plain data, results an async stream of events, failures typed errors the server maps to statuses.
 */

export interface SamplingOptions {
  /** New tokens at most, the end-of-sequence token included. */
  maxTokens: number;
  /** 0 means greedy. */
  temperature: number;
  /** 0 disables top-k. */
  topK: number;
  /** 1 disables nucleus sampling. */
  topP: number;
  /** HF-style: divides positive (multiplies negative) logits of tokens already generated; 1 = off. */
  repetitionPenalty: number;
  /** OpenAI-style additive penalties over the tokens generated so far; 0 = off. */
  presencePenalty: number;
  frequencyPenalty: number;
  /** Generation ends when the text contains one of these; the stop text itself is not returned. */
  stop: string[];
  /** Same seed, same request: same output, whoever else is in the batch. */
  seed?: number;
  /** Independent samples for one prompt; the encoder runs once for all of them. */
  n: number;
  /** 0: no log-probabilities; k > 0: the chosen token's and the k most likely alternatives'. */
  logprobs: number;
}

export interface CotExemplar {
  question: string;
  rationale: string;
  answer: string;
}

/** Zero-shot CoT appends Flan's trigger; few-shot prepends worked exemplars. */
export interface ChainOfThought {
  mode: 'zero-shot' | 'few-shot';
  exemplars?: CotExemplar[];
}

export interface SelfConsistency {
  samples: number;
  temperature: number;
}

export interface GenerationRequest {
  /** Text, or token ids as OpenAI's API allows. */
  prompt: string | number[];
  sampling?: Partial<SamplingOptions>;
  chainOfThought?: ChainOfThought;
  /** k CoT samples decoded together, their extracted answers voted. Implies chain of thought. */
  selfConsistency?: SelfConsistency;
  signal?: AbortSignal;
}

export interface ScoreRequest {
  prompt: string | number[];
  candidates: string[];
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface TokenLogprob {
  tokenId: number;
  token: string;
  logprob: number;
}

export interface TokenEvent {
  type: 'token';
  /** Which of the n samples this token belongs to. */
  sample: number;
  tokenId: number;
  /** The text this token adds (may be '' while a multi-byte character or a possible stop is pending). */
  text: string;
  logprob?: number;
  topLogprobs?: TokenLogprob[];
}

export interface SampleDoneEvent {
  type: 'sample_done';
  sample: number;
  text: string;
  finishReason: FinishReason;
  completionTokens: number;
  /** The final answer extracted from a chain-of-thought text. */
  answer?: string;
}

export interface Vote {
  answer: string;
  /** Fraction of samples that gave this answer. */
  share: number;
  tally: Record<string, number>;
}

export interface RequestDoneEvent {
  type: 'done';
  promptTokens: number;
  completionTokens: number;
  /** The prompt as the model saw it (with CoT trigger or exemplars). */
  prompt: string;
  vote?: Vote;
}

export type GenerationEvent = TokenEvent | SampleDoneEvent | RequestDoneEvent;

export interface EngineStats {
  queued: number;
  running: number;
  batchSize: number;
  kvCacheBytes: number;
}

export interface Engine {
  readonly modelId: string;
  readonly tokenizer: Tokenizer;
  /** Longest prompt in tokens the engine accepts. */
  readonly maxPromptTokens: number;
  /**
   * Starts a request. Throws EngineError synchronously for a request that cannot be accepted (bad
   * options, prompt too long, queue full, engine closed); later failures arrive through the stream.
   */
  generate(request: GenerationRequest): AsyncIterable<GenerationEvent>;
  /**
   * Rank classification: log P(candidate | prompt) for each candidate, in one batched teacher-forced
   * pass (runtime/engine/score-candidates.ts). Throws EngineError for a request it cannot accept.
   */
  score(request: ScoreRequest): Promise<CandidateScore[]>;
  stats(): EngineStats;
  /** Stops accepting; finishes in-flight requests within graceMs, then cancels the rest. */
  close(graceMs?: number): Promise<void>;
}

export type EngineErrorCode = 'invalid_request' | 'prompt_too_long' | 'queue_full' | 'closed' | 'internal';

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    /** The request field at fault, when one is. */
    readonly param?: string,
    /** For queue_full: when a retry is likely to be accepted. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}
