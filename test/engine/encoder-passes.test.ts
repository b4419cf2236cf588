import { describe, expect, it } from 'vitest';
import { randomT5Weights } from '../../runtime/checkpoint/random-t5.ts';
import { BASE_ADAPTER } from '../../runtime/engine/adapter-slots.ts';
import { DecodeRunner } from '../../runtime/engine/decode-runner.ts';
import { SeededRandom } from '../../runtime/seeded-random.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { tinyT5Config } from '../helpers/tiny-model.ts';

/**
 * A group of joining prompts is encoded in passes of at most 512 padded tokens (decode-runner.ts,
 * ENCODER_TOKENS_PER_PASS), so that its cross K/V is not held twice at once; each pass writes its own
 * rows, in place or into the encoder cache, and every row decodes as it does alone.
 */
const config = tinyT5Config({ vocabSize: 512, dModel: 32, numHeads: 2 });
const weights = randomT5Weights(config, 7);

function promptsOf(lengths: number[], seed: number): number[][] {
  const random = SeededRandom.fromSeed(seed);
  return lengths.map((n) => Array.from({ length: n }, () => 2 + random.int(config.vocabSize - 2)));
}

/** Greedy ids of `steps` steps of the prompts decoded as one batch, and the [rows, padded width] of each encoder pass. */
async function decodeTogether(prompts: number[][], steps: number) {
  const runner = await T5Runner.fromWeights(config, weights, { device: 'cpu', threads: 1 });
  const passes: number[][] = [];
  const encode = runner.encode.bind(runner);
  runner.encode = (ids, ...rest) => (passes.push([...ids.dims]), encode(ids, ...rest));
  try {
    const decoder = new DecodeRunner(runner, 64 << 20);
    await decoder.repack([], prompts.map((promptIds) => ({ promptIds, adapter: BASE_ADAPTER })), steps);
    let last = prompts.map(() => config.decoderStartTokenId);
    const ids: number[][] = prompts.map(() => []);
    for (let s = 0; s < steps; s++) {
      last = Array.from((await decoder.step(last, { logits: false })).greedyIds, Number);
      last.forEach((id, b) => ids[b].push(id));
    }
    return { ids, passes };
  } finally {
    await runner.release();
  }
}

describe('encoder passes', () => {
  it('encodes a group of equal prompts (written in place) in passes of at most 512 tokens, each row as it decodes alone', async () => {
    const prompts = promptsOf(new Array(7).fill(200), 1);
    const together = await decodeTogether(prompts, 6);
    expect(together.passes).toEqual([[2, 200], [2, 200], [2, 200], [1, 200]]);
    for (const [b, prompt] of prompts.entries()) expect(together.ids[b], `row ${b}`).toEqual((await decodeTogether([prompt], 6)).ids[0]);
  });

  it('splits each length bucket the same way, and rows of several buckets decode as they do alone', async () => {
    const prompts = promptsOf([300, 40, 290, 45, 310, 50, 42, 48, 44, 46, 41, 47, 43, 49, 39, 51], 2);
    const together = await decodeTogether(prompts, 5);
    for (const [rows, width] of together.passes) expect(rows * width <= 512 || rows === 1, `${rows} x ${width}`).toBe(true);
    expect(together.passes.reduce((sum, [rows]) => sum + rows, 0)).toBe(prompts.length);
    for (const [b, prompt] of prompts.entries()) expect(together.ids[b], `row ${b}`).toEqual((await decodeTogether([prompt], 5)).ids[0]);
  });
});
