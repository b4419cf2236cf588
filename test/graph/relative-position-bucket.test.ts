import { describe, expect, it } from 'vitest';
import { parseT5Config } from '../../runtime/checkpoint/t5-config.ts';
import { createSession } from '../../runtime/device/create-session.ts';
import { GraphBuilder } from '../../runtime/graph/graph-builder.ts';
import { serializeModel } from '../../runtime/graph/onnx-serialize.ts';
import { relativePositionBucket, relativePositionBucketFormula } from '../../runtime/graph/t5-layers.ts';
import { ort } from '../../runtime/onnx-session.ts';

/**
 * The relative-position buckets the graphs look up in a table folded at load time are HF's formula's,
 * computed at each run as before, over relative positions far past the maximum distance and the table's
 * reach: for Flan-T5's bucketing, and for one with so few buckets that the table must reach further
 * (8192 for the encoder) for the last bucket to hold everything past it.
 */
const RANGE = 20000;

async function buckets(config: { relative_attention_num_buckets: number; relative_attention_max_distance: number }, bidirectional: boolean) {
  const cfg = parseT5Config({ model_type: 't5', d_model: 8, d_kv: 4, d_ff: 8, num_heads: 2, num_layers: 1, vocab_size: 16, ...config }, 'test config');
  const g = new GraphBuilder('buckets');
  const relative = g.input('relative', 'int64', ['n']);
  g.output(relativePositionBucket(g, cfg, relative, bidirectional), 'table', 'int64', ['n']);
  g.output(relativePositionBucketFormula(g, cfg, relative, bidirectional), 'formula', 'int64', ['n']);
  const session = await createSession(serializeModel(g.build()), { device: 'cpu', threads: 1 });
  try {
    const values = BigInt64Array.from({ length: 2 * RANGE + 1 }, (_, i) => BigInt(i - RANGE));
    const out = await session.run({ relative: new ort.Tensor('int64', values, [values.length]) });
    const at = (name: string) => Array.from(out[name].data as BigInt64Array, Number);
    return { table: at('table'), formula: at('formula'), of: (rel: number) => at('table')[rel + RANGE] };
  } finally {
    await session.release();
  }
}

describe('relative position buckets', () => {
  for (const config of [
    { relative_attention_num_buckets: 32, relative_attention_max_distance: 128 },
    { relative_attention_num_buckets: 8, relative_attention_max_distance: 128 },
  ]) {
    for (const bidirectional of [true, false]) {
      it(`looked up, equal HF's formula (${config.relative_attention_num_buckets} buckets to ${config.relative_attention_max_distance}, ${bidirectional ? 'encoder' : 'decoder'})`, async () => {
        const { table, formula } = await buckets(config, bidirectional);
        expect(table).toEqual(formula);
        // Every bucket is used over this range (the encoder's later side has no distance 0).
        expect(new Set(table).size).toBe(config.relative_attention_num_buckets - (bidirectional ? 1 : 0));
      });
    }
  }

  it("match HF's buckets at known points (Flan-T5: 32 buckets, 128 positions)", async () => {
    const config = { relative_attention_num_buckets: 32, relative_attention_max_distance: 128 };
    const decoder = await buckets(config, false);
    // Causal: only the past; exact below 16, then log-spaced to bucket 31 at 128 and beyond.
    expect([0, -1, -15, -16, -20, -127, -128, -4999, 3].map(decoder.of)).toEqual([0, 1, 15, 16, 17, 31, 31, 31, 0]);
    const encoder = await buckets(config, true);
    // Bidirectional: 16 buckets a side, the later side offset by 16; exact below 8.
    expect([0, -7, 7, -8, 8, -128, 128, 4999].map(encoder.of)).toEqual([0, 7, 23, 8, 24, 15, 31, 31]);
  });
});
