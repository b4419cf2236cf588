import { describe, expect, it } from 'vitest';
import { packBatch, padBatch, tokenizeExample } from '../../finetune/data/collate.ts';
import { randomT5Weights } from '../../runtime/checkpoint/random-t5.ts';
import type { TrainBatch } from '../../finetune/trainer/train-step.ts';
import { Trainer } from '../../finetune/trainer/trainer.ts';
import { charTokenizer } from './char-tokenizer.ts';
import { tinyConfig } from './tiny-model.ts';

const ids = { pad: 0, eos: 1, decoderStart: 0 };
const limits = { maxSourceLength: 64, maxTargetLength: 20 };
const examples = [
  { source: 'translate: cat', target: 'chat', task: 't' },
  { source: 'sum 2 3', target: '5', task: 't' },
  { source: 'what color is the sky', target: 'blue', task: 't' },
].map((r) => tokenizeExample(charTokenizer, r, limits));

/** Mean label loss of each example, read from the per-token losses by label position. */
function perExample(batch: TrainBatch, tokenLosses: Float32Array, segments?: number[][]): number[] {
  const width = batch.labels[0].length;
  const sums = new Map<string, { total: number; count: number }>();
  batch.labels.forEach((row, r) =>
    row.forEach((label, t) => {
      if (label === -100) return;
      const key = segments ? `${r}:${segments[r][t]}` : `${r}`;
      const s = sums.get(key) ?? { total: 0, count: 0 };
      s.total += tokenLosses[r * width + t];
      s.count += 1;
      sums.set(key, s);
    }),
  );
  return [...sums.values()].map((s) => s.total / s.count);
}

describe('packing', () => {
  it('gives each example the same loss packed as alone in a padded row, and the same batch loss', async () => {
    const config = tinyConfig({ vocab_size: 64 });
    const weights = randomT5Weights(config, 4);
    const options = { method: { kind: 'full' as const }, optimizer: { kind: 'adafactor' as const, lr: 0 }, seed: 0 };
    const plain = await Trainer.create(config, weights, options);
    const packedTrainer = await Trainer.create(config, weights, { ...options, packed: true });
    try {
      const unpacked = padBatch(examples, ids);
      const { batch: packed, used } = packBatch(examples, 1, limits, ids);
      expect(used).toBe(3);
      expect(packed.inputIds).toHaveLength(1);
      const a = await plain.evaluate([unpacked]);
      const b = await packedTrainer.evaluate([packed]);
      const alone = perExample(unpacked, a.tokenLosses[0]);
      const together = perExample(packed, b.tokenLosses[0], packed.decoderSegmentIds);
      expect(together).toHaveLength(3);
      together.forEach((loss, i) => expect(Math.abs(loss - alone[i])).toBeLessThan(1e-5));
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
      // Control: one segment for the whole row lets the examples see each other, and the losses move.
      const merged = (rows: number[][]) => rows.map((row) => row.map((s) => (s > 0 ? 1 : 0)));
      const leaky = { ...packed, encoderSegmentIds: merged(packed.encoderSegmentIds!), decoderSegmentIds: merged(packed.decoderSegmentIds!) };
      const c = await packedTrainer.evaluate([leaky]);
      const leaked = perExample(leaky, c.tokenLosses[0], packed.decoderSegmentIds);
      expect(Math.max(...leaked.map((l, i) => Math.abs(l - alone[i])))).toBeGreaterThan(1e-3);
    } finally {
      await Promise.all([plain.release(), packedTrainer.release()]);
    }
  });
});
