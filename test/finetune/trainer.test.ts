import { describe, expect, it } from 'vitest';
import { randomT5Weights } from '../../runtime/checkpoint/random-t5.ts';
import { Trainer, type TrainerOptions } from '../../finetune/trainer/trainer.ts';
import { tinyBatch, tinyConfig } from './tiny-model.ts';

const config = tinyConfig();
const base = randomT5Weights(config, 1);

async function train(options: TrainerOptions, steps: number) {
  const trainer = await Trainer.create(config, base, options);
  const before = (await trainer.evaluate([tinyBatch])).loss;
  for (let i = 0; i < steps; i++) await trainer.trainStep([tinyBatch]);
  const after = (await trainer.evaluate([tinyBatch])).loss;
  return { trainer, before, after };
}

describe('Trainer', () => {
  it('full finetuning with Adafactor (constant lr) lowers the loss on the examples it sees', async () => {
    const { trainer, before, after } = await train({ method: { kind: 'full' }, optimizer: { kind: 'adafactor', lr: 1e-2 }, seed: 1, maxGradNorm: 1 }, 8);
    expect(after).toBeLessThan(before * 0.8);
    await trainer.release();
  });

  it('LoRA with AdamW lowers the loss, leaves base weights untouched, and merges into equivalent weights', async () => {
    const lora = { rank: 4, alpha: 8, targets: ['q', 'v', 'wo'] };
    const snapshot = Float32Array.from(base.get('decoder.block.0.layer.0.SelfAttention.q.weight')!.data);
    const { trainer, before, after } = await train({ method: { kind: 'lora', lora }, optimizer: { kind: 'adamw', lr: 3e-2, weightDecay: 0 }, seed: 2 }, 8);
    expect(after).toBeLessThan(before * 0.9);
    expect(Array.from(base.get('decoder.block.0.layer.0.SelfAttention.q.weight')!.data)).toEqual(Array.from(snapshot));

    const merged = await Trainer.create(config, trainer.servingWeights(), { method: { kind: 'full' }, optimizer: { kind: 'adamw', lr: 0 }, seed: 0 });
    const mergedLoss = (await merged.evaluate([tinyBatch])).loss;
    expect(Math.abs(mergedLoss - after)).toBeLessThan(1e-5);
    await Promise.all([trainer.release(), merged.release()]);
  });

  it('LoRA starts exactly at the base model (B = 0)', async () => {
    const full = await Trainer.create(config, base, { method: { kind: 'full' }, optimizer: { kind: 'adafactor', lr: 0 }, seed: 0 });
    const lora = await Trainer.create(config, base, { method: { kind: 'lora', lora: { rank: 2, alpha: 4, targets: ['q', 'k'] } }, optimizer: { kind: 'adafactor', lr: 0 }, seed: 0 });
    expect((await lora.evaluate([tinyBatch])).loss).toBe((await full.evaluate([tinyBatch])).loss);
    await Promise.all([full.release(), lora.release()]);
  });

  it('gradient accumulation over two identical micro-batches takes the same step as one', async () => {
    const options: TrainerOptions = { method: { kind: 'full' }, optimizer: { kind: 'adamw', lr: 1e-2 }, seed: 3 };
    const one = await Trainer.create(config, base, options);
    const two = await Trainer.create(config, base, options);
    const a = await one.trainStep([tinyBatch]);
    const b = await two.trainStep([tinyBatch, tinyBatch]);
    expect(b.tokens).toBe(2 * a.tokens);
    expect(b.loss).toBeCloseTo(a.loss, 6);
    const w = 'encoder.block.0.layer.1.DenseReluDense.wo.weight';
    const diff = one.trainable.get(w)!.data.reduce((m, x, i) => Math.max(m, Math.abs(x - two.trainable.get(w)!.data[i])), 0);
    expect(diff).toBeLessThan(1e-6);
    await Promise.all([one.release(), two.release()]);
  });

  it('clips the global gradient norm', async () => {
    // AdamW with eps = 1 and lr = 1 moves each weight by g / (|g| + 1) ~= g on its first step, so the
    // total movement measures the gradient after clipping.
    const trainer = await Trainer.create(config, base, { method: { kind: 'full' }, optimizer: { kind: 'adamw', lr: 1, eps: 1, weightDecay: 0 }, seed: 0, maxGradNorm: 1e-3 });
    const before = new Map([...trainer.trainable].map(([n, p]) => [n, Float32Array.from(p.data)]));
    const metrics = await trainer.trainStep([tinyBatch]);
    let moved = 0;
    for (const [n, p] of trainer.trainable) p.data.forEach((x, i) => (moved += (x - before.get(n)![i]) ** 2));
    expect(metrics.gradNorm).toBeGreaterThan(0.1); // reported before clipping
    expect(Math.sqrt(moved)).toBeLessThan(1.01e-3);
    expect(Math.sqrt(moved)).toBeGreaterThan(0.9e-3);
    await trainer.release();
  });
});
