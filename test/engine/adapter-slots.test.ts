import { describe, expect, it } from 'vitest';
import { randomLoraAdapter, randomT5Weights } from '../../runtime/checkpoint/random-t5.ts';
import { AdapterSlots, BASE_ADAPTER } from '../../runtime/engine/adapter-slots.ts';
import { DecodeRunner } from '../../runtime/engine/decode-runner.ts';
import { adapterNames } from '../../runtime/graph/adapter-params.ts';
import type { ort } from '../../runtime/onnx-session.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { tinyT5Config } from '../helpers/tiny-model.ts';

/**
 * A batch whose rows name no adapter runs the low-rank paths on rank-0 factors (nothing to multiply),
 * whatever adapters are loaded: the rank-1 zeros of the stacks cost as much as a real adapter.
 */
const config = tinyT5Config({ vocabSize: 3000, dModel: 64, numHeads: 4 });
const factorRanks = (feeds: Record<string, ort.Tensor>) =>
  Object.entries(feeds)
    .filter(([name]) => name !== adapterNames.index)
    .map(([name, t]) => (name.endsWith('.A') ? t.dims[2] : t.dims[1]));

describe('adapter slots', () => {
  it('hand a batch of base rows rank-0 factors on the CPU, and one rank-1 slot to a GPU provider', () => {
    const slots = new AdapterSlots(config, ['q', 'v']);
    slots.add('a', randomLoraAdapter(config, { rank: 4, alpha: 8, targets: ['q', 'v'] }, 7));
    const base = slots.feeds([BASE_ADAPTER, BASE_ADAPTER]);
    expect(new Set(factorRanks(base))).toEqual(new Set([0]));
    expect(Object.values(base).every((t) => t.dims[0] === 1 || t === base[adapterNames.index])).toBe(true);
    expect(Array.from(base[adapterNames.index].data as BigInt64Array)).toEqual([0n, 0n]);
    // A batch with an adapter row takes the stacks: the base's slot and the adapter's, at its rank.
    const mixed = slots.feeds([BASE_ADAPTER, 'a']);
    expect(new Set(factorRanks(mixed))).toEqual(new Set([4]));
    expect(Array.from(mixed[adapterNames.index].data as BigInt64Array)).toEqual([0n, 1n]);
    expect(new Set(factorRanks(new AdapterSlots(config, ['q', 'v'], 'webgpu').feeds([BASE_ADAPTER])))).toEqual(new Set([1]));
  });

  it('decode base rows to the same logits, to the bit, as graphs that take no adapters', async () => {
    const weights = randomT5Weights(config, 5);
    const prompts = [
      [5, 9, 13, 2900, 1],
      [7, 1],
    ];
    const logitsOf = async (targets: string[]) => {
      const runner = await T5Runner.fromWeights(config, weights, { device: 'cpu', threads: 1 }, targets);
      try {
        const decoder = new DecodeRunner(runner, 1 << 20);
        // A loaded adapter that no row names changes nothing either.
        decoder.adapters?.add('a', randomLoraAdapter(config, { rank: 4, alpha: 8, targets }, 7));
        await decoder.repack([], prompts.map((promptIds) => ({ promptIds, adapter: BASE_ADAPTER })));
        const out: number[][] = [];
        let last = prompts.map(() => config.decoderStartTokenId);
        for (let s = 0; s < 4; s++) {
          const { logits, greedyIds } = await decoder.step(last, { logits: true });
          out.push(Array.from(logits!));
          last = Array.from(greedyIds, Number);
        }
        return out;
      } finally {
        await runner.release();
      }
    };
    expect(await logitsOf(['q', 'v'])).toEqual(await logitsOf([]));
  });
});
