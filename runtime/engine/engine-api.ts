import type { GraphNodePlacement } from '../device/node-placement.ts';
import type { CandidateScore } from './score-candidates.ts';

/**
 * What the engine offers the layers above it (server, eval, CLI), and the message protocol between the
 * server's thread and the engine core's worker. It knows nothing of HTTP: requests are plain data,
 * results an async stream of events, failures typed errors the server maps to statuses.
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

/**
 * A model version the engine can load: its stable id and its directory (Hugging Face layout). For a
 * LoRA adapter version, id and dir are its base's and `adapter` names the adapter loaded over it: the
 * base loads once and its rows and every adapter's share one batch.
 */
export interface ModelRef {
  id: string;
  dir: string;
  /** Where its tokenizer lives when the directory has none. */
  tokenizerDir?: string;
  /** An adapter version: its id and its directory (PEFT's layout: adapter_config.json + adapter_model.safetensors). */
  adapter?: { id: string; dir: string };
}

/** The version a ref serves: the adapter's id for an adapter version, else the model's. */
export const servedVersionId = (ref: ModelRef) => ref.adapter?.id ?? ref.id;

export interface GenerationRequest {
  /** Which version runs it; an engine made for one model may leave it out. */
  model?: ModelRef;
  /** Text, or token ids as OpenAI's API allows. */
  prompt: string | number[];
  sampling?: Partial<SamplingOptions>;
  chainOfThought?: ChainOfThought;
  /** k CoT samples decoded together, their extracted answers voted. Implies chain of thought. */
  selfConsistency?: SelfConsistency;
  signal?: AbortSignal;
}

export interface ScoreRequest {
  /** Which version scores; an engine made for one model may leave it out. */
  model?: ModelRef;
  prompt: string | number[];
  candidates: string[];
}

export interface ScoreResult {
  scores: CandidateScore[];
  /** The prompt's length in the model's tokens. */
  promptTokens: number;
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
  /** Bytes the last decode step copied host->device and device->host (zero on the CPU device), summed over models. */
  stepToDeviceBytes: number;
  stepToHostBytes: number;
  /** Model versions loaded now, and the bytes of their weights. */
  loadedModels: number;
  modelBytes: number;
}

/** What the engine reports of a model it loaded. */
export interface LoadedModelInfo {
  id: string;
  /** Bytes of weights it holds (what the memory budget counts). */
  bytes: number;
  maxPromptTokens: number;
  /** Per graph, how many nodes each execution provider runs. */
  nodePlacement: readonly GraphNodePlacement[];
}

/**
 * A generation's events. `accepted` settles once the engine has taken the request: it rejects with the
 * EngineError of a refusal (bad options, prompt too long, queue full, unknown model), which iterating
 * would throw too, so a server can answer with a status before it starts a response.
 */
export interface GenerationStream extends AsyncIterable<GenerationEvent> {
  readonly accepted: Promise<void>;
}

export interface Engine {
  /** Starts a request. May throw EngineError at once; later refusals reject `accepted`. */
  generate(request: GenerationRequest): GenerationStream;
  /** Loads a version ahead of its first request (a hot swap loads before it moves an alias). */
  load(model: ModelRef): Promise<LoadedModelInfo>;
  /** Unloads a version once its requests have finished. */
  unload(modelId: string): Promise<void>;
  /**
   * Rank classification: log P(candidate | prompt) for each candidate, in one batched teacher-forced
   * pass (runtime/engine/score-candidates.ts). Rejects with EngineError for a request it cannot accept.
   */
  score(request: ScoreRequest): Promise<ScoreResult>;
  stats(): EngineStats;
  /** Per graph of the first model loaded, how many nodes each execution provider runs (absent: none loaded). */
  readonly nodePlacement?: readonly GraphNodePlacement[];
  /** Stops accepting; finishes in-flight requests within graceMs, then cancels the rest. */
  close(graceMs?: number): Promise<void>;
}

export type EngineErrorCode =
  | 'invalid_request'
  | 'prompt_too_long'
  | 'queue_full'
  | 'closed'
  | 'internal'
  | 'model_load_failed'
  /** The engine's worker died; it is being restarted. */
  | 'unavailable';

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

/** An EngineError as it crosses the worker boundary (structured clone drops the class). */
export interface EngineErrorData {
  code: EngineErrorCode;
  message: string;
  param?: string;
  retryAfterSeconds?: number;
}

export function engineErrorData(err: unknown): EngineErrorData {
  if (err instanceof EngineError) {
    return { code: err.code, message: err.message, ...(err.param ? { param: err.param } : {}), ...(err.retryAfterSeconds ? { retryAfterSeconds: err.retryAfterSeconds } : {}) };
  }
  return { code: 'internal', message: (err as Error)?.message ?? String(err) };
}

export function engineErrorFrom(data: EngineErrorData): EngineError {
  return new EngineError(data.code, data.message, data.param, data.retryAfterSeconds);
}

/** A generation that failed after it was accepted (a failed model run): the last entry of its stream. */
export interface StreamFailure {
  type: 'failure';
  error: EngineErrorData;
}

/** Server thread -> engine worker. `id` pairs a command with its replies. */
export type EngineCommand =
  | { type: 'generate'; id: number; request: Omit<GenerationRequest, 'signal'> }
  | { type: 'cancel'; id: number }
  | { type: 'load'; id: number; model: ModelRef }
  | { type: 'score'; id: number; request: ScoreRequest }
  | { type: 'unload'; id: number; modelId: string }
  | { type: 'close'; id: number; graceMs: number };

/**
 * Engine worker -> server thread. A generation's events travel in batches, one message per decode
 * step rather than one per token, with the stats of that moment.
 */
export type EngineReply =
  | { type: 'accepted'; id: number }
  | { type: 'events'; batch: [id: number, event: GenerationEvent | StreamFailure][]; stats: EngineStats }
  | { type: 'failed'; id: number; error: EngineErrorData }
  | { type: 'result'; id: number; value?: LoadedModelInfo | ScoreResult; error?: EngineErrorData };
