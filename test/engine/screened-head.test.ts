import { describe, expect, it, vi } from 'vitest';
import { randomT5Weights } from '../../runtime/checkpoint/random-t5.ts';
import { readT5Config, type T5Config } from '../../runtime/checkpoint/t5-config.ts';
import { loadT5Weights, type T5Weights } from '../../runtime/checkpoint/t5-weights.ts';
import { BASE_ADAPTER } from '../../runtime/engine/adapter-slots.ts';
import { DecodeRunner } from '../../runtime/engine/decode-runner.ts';
import { screenBlockSize } from '../../runtime/graph/t5-graphs.ts';
import { ScreenedHead } from '../../runtime/screened-head.ts';
import { SeededRandom } from '../../runtime/seeded-random.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { hasShared, referenceDir, referenceModels, relativeError } from '../helpers/shared-fixtures.ts';
import { tinyT5Config } from '../helpers/tiny-model.ts';

/**
 * The screened head (runtime/screened-head.ts) must give exactly the f32 head's greedy tokens: the int8
 * screen only narrows where the runner looks. Checked against the runner built with the f32 head
 * (screenedHead: false) on seeded random checkpoints and the reference fixtures, and on the bound
 * itself against a brute-force argmax.
 */
const smallShape = (vocab: number, tied = false) => tinyT5Config({ vocabSize: vocab, dModel: 64, numHeads: 4, gated: !tied });

/** Greedy ids of `steps` decoder steps for every prompt decoded together, and the logits of a teacher-forced pass. */
async function decode(config: T5Config, weights: T5Weights, screenedHead: boolean, prompts: number[][], steps: number) {
  const runner = await T5Runner.fromWeights(config, weights, { device: 'cpu', threads: 1, screenedHead });
  try {
    const decoder = new DecodeRunner(runner, 64 << 20);
    await decoder.repack([], prompts.map((promptIds) => ({ promptIds, adapter: BASE_ADAPTER })));
    let last = prompts.map(() => config.decoderStartTokenId);
    const ids: number[][] = [];
    for (let s = 0; s < steps; s++) {
      // Every third step one row asks for logits (a sampled batch-mate): greedy rows must not change.
      const { greedyIds, logits } = await decoder.step(last, { logits: s % 3 === 2 });
      // Greedy steps hand back no logits at all: each would be a fresh B x V copy for the collector.
      if (s % 3 === 2) expect(logits).toBeDefined();
      else expect(logits).toBeUndefined();
      last = Array.from(greedyIds, Number);
      ids.push(last);
    }
    // Two prompts of one length (every third is full length): forward takes a rectangular batch.
    const pair = [prompts[0], prompts[3]];
    const { logits } = await runner.forward(pair, pair.map((p) => p.map(() => 1)), [[0, 5, 6], [0, 7, 8]]);
    return { ids, logits: Array.from(logits.data as Float32Array) };
  } finally {
    await runner.release();
  }
}

function prompts(count: number, length: number, vocab: number, seed: number): number[][] {
  const random = SeededRandom.fromSeed(seed);
  return Array.from({ length: count }, (_, i) => Array.from({ length: length - (i % 3) }, () => 2 + random.int(vocab - 2)));
}

describe('the screened head', () => {
  it('decodes the f32 head greedy tokens exactly, batched, on seeded random checkpoints (untied and tied)', async () => {
    // 8192 tokens come in 256 blocks of 32, of which the best 128 are screened; 4096 in 128 blocks and
    // 3000 in 100 blocks of 30, all screened.
    for (const [vocab, tied] of [[8192, false], [4096, true], [3000, false]] as const) {
      const config = smallShape(vocab, tied);
      const weights = randomT5Weights(config, 3);
      const batch = prompts(12, 10, vocab, 5);
      const full = await decode(config, weights, false, batch, 24);
      const pick = vi.spyOn(ScreenedHead.prototype, 'pick');
      const screened = await decode(config, weights, true, batch, 24);
      expect(screened.ids).toEqual(full.ids);
      // The screen settles the rows itself: the f32 head is not what made the ids equal.
      const rows = pick.mock.calls.reduce((sum, call) => sum + call[0].length / config.dModel, 0);
      const unsettled = pick.mock.results.reduce((sum, r) => sum + (r.value as { uncertain: number[] }).uncertain.length, 0);
      pick.mockRestore();
      // Every step's 12 rows, and the teacher-forced pass's.
      expect(rows).toBe(12 * 24 + 2 * 3);
      expect(unsettled).toBeLessThan(rows / 20);
      // Logits, where asked for, are the f32 head's own.
      expect(relativeError(screened.logits, full.logits)).toBeLessThan(1e-6);
    }
    expect([32128, 3000, 97].map(screenBlockSize)).toEqual([32, 30, 1]);
  });

  it.skipIf(!hasShared)('decodes the f32 head greedy tokens exactly on the reference fixtures', async () => {
    for (const name of referenceModels) {
      const dir = `${referenceDir}/${name}`;
      const config = readT5Config(dir);
      const weights = loadT5Weights(dir, config);
      const batch = prompts(6, 8, config.vocabSize, 9);
      const full = await decode(config, weights, false, batch, 12);
      const screened = await decode(config, weights, true, batch, 12);
      expect(screened.ids, name).toEqual(full.ids);
    }
  });

  it('leaves to the f32 head the rows it cannot settle: tied tokens give ArgMax first maximum', async () => {
    const config = smallShape(512);
    const weights = randomT5Weights(config, 4);
    const head = weights.get('lm_head.weight')!.data;
    const d = config.dModel;
    // Token 0 scores 0; tokens 1..200 all score u.x and 201.. all -u.x: the winners tie in a group larger
    // than the runner rescores (MAX_RESCORED, 128), so only the f32 head can say which comes first (1 or 201, never 0).
    const u = head.slice(0, d);
    head.fill(0, 0, d);
    for (let j = 1; j < config.vocabSize; j++) head.set(j <= 200 ? u : u.map((v) => -v), j * d);
    const batch = prompts(6, 6, 512, 7);
    const full = await decode(config, weights, false, batch, 4);
    const screened = await decode(config, weights, true, batch, 4);
    expect(screened.ids).toEqual(full.ids);
    expect(screened.ids.flat().every((id) => id === 1 || id === 201)).toBe(true);
  });
});

// Both weight ranges the decoder graph may take (runtime/device/integer-gemm-range.ts): the bound must hold for each.
describe.each([127, 63] as const)('ScreenedHead.pick, weights within +-%i', (levels) => {
  const V = 3000;
  const D = 48;
  const random = SeededRandom.fromSeed(11);
  const weight = Float32Array.from({ length: V * D }, () => random.normal() * 0.1);
  const head = new ScreenedHead(weight, V, D, levels);

  /** The screen the decoder graph computes: int8 per-row activations times int8 per-column weights. */
  function screenedLogits(x: Float32Array): Float64Array {
    const a = Math.max(...x.map(Math.abs)) / 127;
    const xq = x.map((v) => Math.round(v / a));
    return Float64Array.from({ length: V }, (_, j) => {
      const w = weight.subarray(j * D, (j + 1) * D);
      const s = Math.max(...w.map(Math.abs)) / levels;
      let sum = 0;
      for (let k = 0; k < D; k++) sum += xq[k] * Math.round(w[k] / s);
      return sum * a * s;
    });
  }

  const BLOCK = 25;

  /**
   * What the decoder graph hands back for head inputs `xs`: per row, the `n` blocks of BLOCK tokens with
   * the largest screened maxima (ties: the lower block), their logits, and the n + 1 largest maxima.
   */
  function screen(xs: Float32Array[], n: number) {
    const maxima: number[] = [];
    const blocks: bigint[] = [];
    const values: number[] = [];
    for (const x of xs) {
      const approx = screenedLogits(x);
      const blockMax = Array.from({ length: V / BLOCK }, (_, b) => Math.max(...approx.subarray(b * BLOCK, (b + 1) * BLOCK)));
      const order = blockMax.map((_, b) => b).sort((p, q) => blockMax[q] - blockMax[p] || p - q);
      maxima.push(...order.slice(0, n + 1).map((b) => blockMax[b]));
      for (const b of order.slice(0, n)) {
        blocks.push(BigInt(b));
        values.push(...approx.subarray(b * BLOCK, (b + 1) * BLOCK));
      }
    }
    return { maxima: Float32Array.from(maxima), blocks: BigInt64Array.from(blocks), values: Float32Array.from(values) };
  }

  const exactBest = (x: Float32Array) => {
    let best = 0;
    for (let j = 1; j < V; j++) if (head.exactLogit(x, j) > head.exactLogit(x, best)) best = j;
    return best;
  };

  it('settles rows only with the exact argmax, and leaves those where a token outside the blocks could still win', () => {
    const rows = 60;
    const inputs = Array.from({ length: rows }, (_, r) => Float32Array.from({ length: D }, () => random.normal() * (1 + (r % 4))));
    const input = new Float32Array(rows * D);
    inputs.forEach((x, r) => input.set(x, r * D));
    const unsettled: number[] = [];
    for (const n of [1, 16]) {
      const s = screen(inputs, n);
      const { greedyIds, uncertain } = head.pick(input, s.maxima, s.blocks, s.values, BLOCK);
      inputs.forEach((x, r) => {
        if (!uncertain.includes(r)) expect(Number(greedyIds[r])).toBe(exactBest(x));
      });
      unsettled.push(uncertain.length);
    }
    // One block often cannot rule out the next block's tokens; sixteen settle most rows.
    expect(unsettled[0]).toBeGreaterThan(rows / 4);
    expect(unsettled[1]).toBeLessThan(unsettled[0] / 3);
  });

  it('reports a row with a non-finite input as unsettled, and finite logits as finite', () => {
    const x = Float32Array.from({ length: D }, () => random.normal());
    const s = screen([x], 16);
    const broken = x.slice();
    broken[3] = Number.NaN;
    expect(head.pick(x, s.maxima, s.blocks, s.values, BLOCK).uncertain).toEqual([]);
    expect(head.pick(broken, s.maxima, s.blocks, s.values, BLOCK).uncertain).toEqual([0]);
    expect(head.logitsFinite(x)).toBe(true);
    expect(head.logitsFinite(broken)).toBe(false);
    expect(head.logitsFinite(Float32Array.from(x, (v) => v * 1e38))).toBe(false);
  });
});
