import { describe, expect, it } from 'vitest';
import { initT5Weights, randomT5Weights } from '../../runtime/checkpoint/random-t5.ts';
import { tinyT5Config } from '../helpers/tiny-model.ts';

const config = tinyT5Config({ vocabSize: 512, dModel: 64, numHeads: 4 });

const std = (data: Float32Array) => Math.sqrt(data.reduce((s, x) => s + x * x, 0) / data.length);

describe("T5's initialisation for training from scratch", () => {
  const weights = initT5Weights(config, 3);
  const get = (name: string) => weights.get(name)!.data;

  it('gives unit-variance embeddings, queries scaled by 1/sqrt(d_model * d_kv), the rest fan-in scaled', () => {
    expect(std(get('shared.weight'))).toBeCloseTo(1, 1);
    for (const stack of ['encoder.block.1.layer.0.SelfAttention', 'decoder.block.0.layer.1.EncDecAttention']) {
      expect(std(get(`${stack}.q.weight`)) * Math.sqrt(64 * 16)).toBeCloseTo(1, 1);
      expect(std(get(`${stack}.k.weight`)) * Math.sqrt(64)).toBeCloseTo(1, 1);
      expect(std(get(`${stack}.o.weight`)) * Math.sqrt(64)).toBeCloseTo(1, 1);
    }
    expect(std(get('encoder.block.0.layer.1.DenseReluDense.wo.weight')) * Math.sqrt(128)).toBeCloseTo(1, 1);
    expect(std(get('lm_head.weight')) * Math.sqrt(64)).toBeCloseTo(1, 1);
    expect([...get('encoder.final_layer_norm.weight')].every((x) => x === 1)).toBe(true);
  });

  it('starts attention logits near unit variance, where the plain fan-in scheme saturates the softmax', () => {
    // Unit-RMS inputs (what the pre-attention RMSNorm gives), then q.k summed over d_kv, unscaled as in T5.
    const logitStd = (w: Map<string, { data: Float32Array }>) => {
      const q = w.get('encoder.block.0.layer.0.SelfAttention.q.weight')!.data;
      const k = w.get('encoder.block.0.layer.0.SelfAttention.k.weight')!.data;
      const x = Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? 1 : -1));
      const y = Float32Array.from({ length: 64 }, (_, i) => (i % 3 ? 1 : -1));
      const project = (m: Float32Array, v: Float32Array) => Array.from({ length: 64 }, (_, r) => v.reduce((s, vi, c) => s + vi * m[r * 64 + c], 0));
      const [qx, ky] = [project(q, x), project(k, y)];
      const logits = [0, 1, 2, 3].map((h) => qx.slice(h * 16, h * 16 + 16).reduce((s, a, i) => s + a * ky[h * 16 + i], 0));
      return std(Float32Array.from(logits));
    };
    expect(logitStd(weights)).toBeLessThan(2);
    expect(logitStd(randomT5Weights(config, 3))).toBeGreaterThan(2);
  });
});
