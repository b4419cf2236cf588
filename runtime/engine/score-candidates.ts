import type { Tokenizer } from '../checkpoint/tokenizer.ts';
import type { T5Runner } from '../t5-runner.ts';
import { EngineError } from './engine-api.ts';
import { logSumExp } from './sampler.ts';

/** What scoring needs of a loaded model: its runner, its tokenizer and its decoder start id. */
export interface ScoringModel {
  runner: T5Runner;
  tokenizer: Tokenizer;
  decoderStartTokenId: number;
}

export interface CandidateScore {
  /** log P(candidate, then end of sequence | prompt) under the decoder: the rank-classification score. */
  logprob: number;
  /** Tokens scored, the end-of-sequence token included (for length-normalised variants). */
  tokens: number;
}

/** More candidates than this in one pass is a batch the caller should split. */
export const MAX_CANDIDATES = 64;

/**
 * Rank classification (T5's and Flan's way of scoring multiple choice): the log-likelihood of each
 * candidate target given the prompt, every candidate teacher-forced in one batched pass. The
 * candidate ends with its end-of-sequence token, as a target does in training, so "yes" is not
 * credited with the probability of "yes, but". Independent of HTTP and of the scheduler: the
 * runner's forward pass writes its own buffers, so this may run beside decoding.
 */
export async function scoreCandidates(model: ScoringModel, prompt: string | number[], candidates: readonly string[]): Promise<CandidateScore[]> {
  if (candidates.length === 0 || candidates.length > MAX_CANDIDATES) {
    throw new EngineError('invalid_request', `between 1 and ${MAX_CANDIDATES} candidates are scored at once, not ${candidates.length}`, 'candidates');
  }
  const promptIds = typeof prompt === 'string' ? model.tokenizer.encode(prompt) : prompt;
  if (promptIds.length === 0) throw new EngineError('invalid_request', 'the prompt is empty', 'prompt');
  return scoreTargetIds(model.runner, promptIds, candidates.map((c) => model.tokenizer.encode(c)), model.decoderStartTokenId);
}

/**
 * The same on token ids: each target's summed log-probability, targets as the decoder must produce
 * them (end of sequence included). The prompt is encoded once; target rows are right-padded, and with
 * causal self-attention and no decoder padding mask (HF semantics) the padding after a target cannot
 * change its positions' logits.
 */
export async function scoreTargetIds(runner: T5Runner, promptIds: readonly number[], targets: readonly number[][], decoderStartTokenId: number): Promise<CandidateScore[]> {
  if (targets.some((t) => t.length === 0)) throw new EngineError('invalid_request', 'a candidate has no tokens', 'candidates');
  const pad = runner.config.padTokenId;
  const width = Math.max(...targets.map((t) => t.length));
  const decoderInputIds = targets.map((t) => [decoderStartTokenId, ...t.slice(0, -1), ...new Array<number>(width - t.length).fill(pad)]);
  const logits = await runner.forwardOnePrompt(promptIds, decoderInputIds);
  const data = (await logits.getData()) as Float32Array;
  const vocab = runner.config.vocabSize;
  return targets.map((target, row) => {
    let logprob = 0;
    target.forEach((token, t) => {
      const offset = (row * width + t) * vocab;
      logprob += data[offset + token] - logSumExp(data.subarray(offset, offset + vocab));
    });
    return { logprob, tokens: target.length };
  });
}
