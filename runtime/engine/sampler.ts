import type { SeededRandom } from '../seeded-random.ts';
import type { SamplingOptions, TokenLogprob } from './engine-api.ts';

/** One sequence's sampling state: its own generator (so batch-mates never shift its draws) and counts. */
export interface SequenceSampler {
  rng: SeededRandom;
  /** How often each token has been generated so far, for the penalties. */
  counts: Map<number, number>;
}

export interface Choice {
  tokenId: number;
  /** Log-probability under the model's distribution (before penalties and temperature). */
  logprob?: number;
  topLogprobs?: { tokenId: number; logprob: number }[];
}

type Options = Pick<
  SamplingOptions,
  'temperature' | 'topK' | 'topP' | 'repetitionPenalty' | 'presencePenalty' | 'frequencyPenalty' | 'logprobs'
>;

/**
 * Picks the next token from one row of logits: penalties, then temperature, top-k and top-p (HF's
 * order), then a draw from the sequence's own generator; greedy when temperature is 0.
 */
/**
 * `modelArgmax`, when the runtime computed it, is the argmax of the raw logits: greedy decoding
 * without penalties takes it instead of scanning the vocabulary again.
 */
/**
 * `logits` may be absent for a row that does not need them (needsLogits): a device that keeps them
 * where they were computed sends only the argmax across.
 */
export function chooseToken(logits: Float32Array | undefined, options: Options, state: SequenceSampler, modelArgmax?: number): Choice {
  let tokenId: number;
  if (!logits) {
    if (needsLogits(options) || modelArgmax === undefined) throw new Error('this row needs its logits, which the step did not read');
    tokenId = modelArgmax;
  } else {
    const processed = applyPenalties(logits, options, state.counts);
    if (options.temperature > 0) tokenId = sample(processed, options, state.rng);
    else tokenId = processed === logits && modelArgmax !== undefined ? modelArgmax : argmax(processed);
  }
  state.counts.set(tokenId, (state.counts.get(tokenId) ?? 0) + 1);
  if (options.logprobs <= 0 || !logits) return { tokenId };
  const logZ = logSumExp(logits);
  return {
    tokenId,
    logprob: logits[tokenId] - logZ,
    topLogprobs: topIndices(logits, options.logprobs).map((i) => ({ tokenId: i, logprob: logits[i] - logZ })),
  };
}

/** Whether choosing a row's token reads its logits: sampling, penalties or logprobs do; plain greedy takes the argmax. */
export function needsLogits(o: Options): boolean {
  return o.temperature > 0 || o.logprobs > 0 || o.repetitionPenalty !== 1 || o.presencePenalty !== 0 || o.frequencyPenalty !== 0;
}

function applyPenalties(logits: Float32Array, o: Options, counts: Map<number, number>): Float32Array {
  const penalised = o.repetitionPenalty !== 1 || o.presencePenalty !== 0 || o.frequencyPenalty !== 0;
  if (!penalised || counts.size === 0) return logits;
  const out = Float32Array.from(logits);
  for (const [token, count] of counts) {
    let v = out[token];
    if (o.repetitionPenalty !== 1) v = v > 0 ? v / o.repetitionPenalty : v * o.repetitionPenalty;
    v -= o.frequencyPenalty * count + o.presencePenalty;
    out[token] = v;
  }
  return out;
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return max + Math.log(sum);
}

/** Indices of the k largest values, largest first. */
export function topIndices(row: ArrayLike<number>, k: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < row.length; i++) {
    if (top.length === k && row[i] <= row[top[k - 1]]) continue;
    let j = Math.min(top.length, k - 1);
    while (j > 0 && row[top[j - 1]] < row[i]) j--;
    top.splice(j, 0, i);
    if (top.length > k) top.pop();
  }
  return top;
}

/** Reused across calls: one 32k-entry allocation per sampled token per sequence adds up. */
let scratch = new Float64Array(0);

/**
 * A draw from softmax(logits / temperature), restricted to the top k and then to the nucleus when
 * asked. The whole-vocabulary path is written as plain loops: it runs for every sampled token of every
 * sequence, so self-consistency's k samples pay it k times per step.
 */
function sample(logits: Float32Array, o: Options, rng: SeededRandom): number {
  const v = logits.length;
  if (scratch.length < v) scratch = new Float64Array(v);
  const probs = scratch;
  const inverseTemperature = 1 / o.temperature;
  const candidates = o.topK > 0 && o.topK < v ? topIndices(logits, o.topK) : undefined;
  let total = 0;
  if (candidates) {
    const max = logits[candidates[0]];
    for (const i of candidates) total += probs[i] = Math.exp((logits[i] - max) * inverseTemperature);
  } else {
    let max = -Infinity;
    for (let i = 0; i < v; i++) if (logits[i] > max) max = logits[i];
    for (let i = 0; i < v; i++) {
      // Below e^-40 of the best token a probability cannot move a draw; skipping exp() there is most
      // of a peaked distribution's vocabulary.
      const d = (logits[i] - max) * inverseTemperature;
      total += probs[i] = d < -40 ? 0 : Math.exp(d);
    }
  }
  if (o.topP < 1) return drawFrom(nucleus(probs, candidates, v, total, o.topP), probs, rng);
  if (candidates) return drawFrom(candidates, probs, rng);
  let r = rng.next() * total;
  for (let i = 0; i < v; i++) {
    r -= probs[i];
    if (r < 0) return i;
  }
  return v - 1;
}

function drawFrom(ids: readonly number[], probs: Float64Array, rng: SeededRandom): number {
  let mass = 0;
  for (const i of ids) mass += probs[i];
  let r = rng.next() * mass;
  for (const i of ids) {
    r -= probs[i];
    if (r < 0) return i;
  }
  return ids[ids.length - 1];
}

/**
 * The smallest set of most likely tokens whose probability reaches p. Sorting 32k entries per token is
 * wasteful, so only tokens above a threshold are sorted; the threshold is lowered until the tokens above
 * it already reach p, which makes the result exact.
 */
function nucleus(probs: Float64Array, candidates: number[] | undefined, v: number, total: number, p: number): number[] {
  const count = candidates ? candidates.length : v;
  for (let threshold = 1e-3; ; threshold /= 16) {
    const floor = threshold * total;
    const above: number[] = [];
    let mass = 0;
    for (let j = 0; j < count; j++) {
      const i = candidates ? candidates[j] : j;
      if (probs[i] >= floor) {
        above.push(i);
        mass += probs[i];
      }
    }
    if (mass >= p * total || above.length === count || threshold < 1e-12) {
      above.sort((a, b) => probs[b] - probs[a]);
      const chosen: number[] = [];
      let cumulative = 0;
      for (const i of above) {
        chosen.push(i);
        cumulative += probs[i];
        if (cumulative >= p * total) break;
      }
      return chosen;
    }
  }
}

export function toTokenLogprob(
  tokenToText: (id: number) => string,
  entry: { tokenId: number; logprob: number },
): TokenLogprob {
  return { tokenId: entry.tokenId, token: tokenToText(entry.tokenId), logprob: entry.logprob };
}
