import { describe, expect, it } from 'vitest';
import { chooseToken, needsLogits, topIndices } from '../../runtime/engine/sampler.ts';
import { SeededRandom } from '../../runtime/seeded-random.ts';

const base = { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logprobs: 0 };
const logits = Float32Array.from([2.0, 1.0, 0.5, 3.0, -1.0, 2.5]);
const state = (seed = 1) => ({ rng: SeededRandom.fromSeed(seed), counts: new Map<number, number>() });

function histogram(options: typeof base, draws: number): Map<number, number> {
  const s = state(42);
  const counts = new Map<number, number>();
  for (let i = 0; i < draws; i++) {
    s.counts.clear();
    const { tokenId } = chooseToken(logits, options, s);
    counts.set(tokenId, (counts.get(tokenId) ?? 0) + 1);
  }
  return counts;
}

describe('sampler', () => {
  it('greedy picks the argmax', () => {
    expect(chooseToken(logits, { ...base, temperature: 0 }, state()).tokenId).toBe(3);
  });

  it('plain greedy needs no logits (a device may keep them); sampling, penalties and logprobs do', () => {
    const greedy = { ...base, temperature: 0 };
    expect(needsLogits(greedy)).toBe(false);
    const s = state();
    expect(chooseToken(undefined, greedy, s, 4)).toEqual({ tokenId: 4 });
    expect(s.counts.get(4)).toBe(1);
    for (const options of [base, { ...greedy, logprobs: 2 }, { ...greedy, repetitionPenalty: 1.2 }, { ...greedy, presencePenalty: 0.5 }]) {
      expect(needsLogits(options)).toBe(true);
      expect(() => chooseToken(undefined, options, state(), 4)).toThrow(/needs its logits/);
    }
  });

  it('top-k samples only among the k best', () => {
    expect([...histogram({ ...base, topK: 2 }, 500).keys()].sort()).toEqual([3, 5]);
  });

  it('top-p keeps the smallest set reaching p', () => {
    // softmax: token 3 ~0.44, token 5 ~0.27, token 0 ~0.16: {3, 5} holds 0.71 < 0.75, so 0 joins.
    expect([...histogram({ ...base, topP: 0.75 }, 800).keys()].sort()).toEqual([0, 3, 5]);
    expect([...histogram({ ...base, topP: 0.4 }, 200).keys()]).toEqual([3]);
  });

  it('sampling frequencies follow the softmax', () => {
    const draws = 20000;
    const h = histogram(base, draws);
    const z = logits.reduce((a, l) => a + Math.exp(l), 0);
    for (let i = 0; i < logits.length; i++) {
      const p = Math.exp(logits[i]) / z;
      const sd = Math.sqrt((p * (1 - p)) / draws);
      expect(Math.abs((h.get(i) ?? 0) / draws - p)).toBeLessThan(5 * sd + 1e-9);
    }
  });

  it('penalties push repeated tokens down', () => {
    const s = state();
    s.counts.set(3, 2);
    expect(chooseToken(logits, { ...base, temperature: 0, frequencyPenalty: 1 }, s).tokenId).toBe(5);
    const r = state();
    r.counts.set(3, 1);
    expect(chooseToken(logits, { ...base, temperature: 0, repetitionPenalty: 1.3 }, r).tokenId).toBe(5);
  });

  it('log-probabilities are the model distribution, alternatives best first', () => {
    const c = chooseToken(logits, { ...base, temperature: 0, logprobs: 3 }, state());
    const z = Math.log(logits.reduce((a, l) => a + Math.exp(l), 0));
    expect(c.logprob).toBeCloseTo(3 - z, 5);
    expect(c.topLogprobs!.map((t) => t.tokenId)).toEqual([3, 5, 0]);
    expect(topIndices([1, 5, 3, 5, 0], 2)).toEqual([1, 3]);
  });

  it('the same seed draws the same tokens', () => {
    const a = state(9);
    const b = state(9);
    const seqA = Array.from({ length: 20 }, () => chooseToken(logits, base, a).tokenId);
    const seqB = Array.from({ length: 20 }, () => chooseToken(logits, base, b).tokenId);
    expect(seqA).toEqual(seqB);
  });
});
