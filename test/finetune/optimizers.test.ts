import { describe, expect, it } from 'vitest';
import { Adafactor } from '../../finetune/trainer/adafactor.ts';
import { AdamW } from '../../finetune/trainer/adamw.ts';
import { OnnxOptimizer, type UpdateRule } from '../../finetune/trainer/onnx-optimizer.ts';
import type { Optimizer, Param } from '../../finetune/trainer/optimizer.ts';
import { SeededRandom } from '../../runtime/seeded-random.ts';
import { lrFactor } from '../../finetune/trainer/lr-schedule.ts';

const param = (shape: number[], values: number[]): Param => ({ shape, data: Float32Array.from(values) });

describe('Adafactor', () => {
  it('moves each weight by lr * sign(g) on a first step with a rank-1 gradient (factored moments are exact)', () => {
    // Row and column means of g^2 reconstruct g^2 exactly when g = u v^T, so the update is g/|g|.
    const u = [1, -2, 0.5];
    const v = [3, -1, 2, 0.25];
    const grad = Float32Array.from(u.flatMap((a) => v.map((b) => a * b)));
    const p = param([3, 4], new Array(12).fill(0.5));
    new Adafactor({ lr: 0.01 }).step(new Map([['w', p]]), new Map([['w', grad]]));
    p.data.forEach((x, i) => expect(x).toBeCloseTo(0.5 - 0.01 * Math.sign(grad[i]), 6));
  });

  it('clips an update whose RMS exceeds the threshold (vector parameters, unfactored)', () => {
    const p = param([4], [0, 0, 0, 0]);
    // With a single nonzero entry, the first-step update is [1, ~0, ~0, ~0]: RMS 0.5, under 1; a
    // threshold of 0.25 halves it.
    new Adafactor({ lr: 1, clipThreshold: 0.25 }).step(new Map([['b', p]]), new Map([['b', Float32Array.from([2, 0, 0, 0])]]));
    expect(p.data[0]).toBeCloseTo(-0.5, 5);
  });

  it('decays the second moment with beta2_t = 1 - t^-0.8 (two steps on a vector, by hand)', () => {
    const p = param([2], [1, 1]);
    const opt = new Adafactor({ lr: 0.1, eps: [0, 1e-3] });
    const g1 = [0.5, -2];
    const g2 = [1, 1];
    opt.step(new Map([['b', p]]), new Map([['b', Float32Array.from(g1)]]));
    opt.step(new Map([['b', p]]), new Map([['b', Float32Array.from(g2)]]));
    // Step 1: beta2 = 0, v = g1^2, update = sign(g1) (RMS 1, unclipped).
    // Step 2: beta2 = 1 - 2^-0.8, v = beta2 v + (1 - beta2) g2^2, update = g2 / sqrt(v), clipped to RMS 1.
    const beta2 = 1 - 2 ** -0.8;
    const v = g1.map((g, i) => beta2 * g * g + (1 - beta2) * g2[i] ** 2);
    const u = g2.map((g, i) => g / Math.sqrt(v[i]));
    const rmsU = Math.sqrt((u[0] ** 2 + u[1] ** 2) / 2);
    const expected = [1 - 0.1 * Math.sign(g1[0]), 1 - 0.1 * Math.sign(g1[1])].map((x, i) => x - (0.1 * u[i]) / Math.max(1, rmsU));
    p.data.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 6));
  });

  it('resumes from saved state to the same weights, bit for bit', () => {
    checkResume(() => new Adafactor({ lr: 0.01, beta1: 0.9 }));
  });
});

describe('AdamW', () => {
  it('first step is lr * sign(g) after decoupled weight decay', () => {
    const p = param([3], [1, -1, 2]);
    new AdamW({ lr: 0.1, weightDecay: 0.5 }).step(new Map([['w', p]]), new Map([['w', Float32Array.from([0.3, -2, 1e-3])]]));
    const expected = [1 * 0.95 - 0.1, -1 * 0.95 + 0.1, 2 * 0.95 - 0.1];
    p.data.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 5));
  });

  it('resumes from saved state to the same weights, bit for bit', () => {
    checkResume(() => new AdamW({ lr: 0.01 }));
  });
});

function checkResume(make: () => Optimizer): void {
  const grads = [0, 1, 2].map((s) => new Map([
    ['m', Float32Array.from({ length: 6 }, (_, i) => Math.sin(i + s))],
    ['b', Float32Array.from({ length: 3 }, (_, i) => Math.cos(i * s))],
  ]));
  const fresh = () => new Map([['m', param([2, 3], [1, 2, 3, 4, 5, 6])], ['b', param([3], [1, 1, 1])]]);
  const unbroken = fresh();
  const a = make();
  for (const g of grads) a.step(unbroken, g);

  const resumed = fresh();
  const b = make();
  b.step(resumed, grads[0]);
  const saved = new Map(b.state().map((s) => [s.name, Float32Array.from(s.data)]));
  const c = make();
  c.loadState(saved, b.steps, resumed);
  c.step(resumed, grads[1]);
  c.step(resumed, grads[2]);
  for (const name of ['m', 'b']) expect(Array.from(resumed.get(name)!.data)).toEqual(Array.from(unbroken.get(name)!.data));
}

describe('OnnxOptimizer (the update the trainer runs) matches the plain-loop references', () => {
  const rules: UpdateRule[] = [
    { kind: 'adafactor', lr: 0.01 },
    { kind: 'adafactor', lr: 0.01, beta1: 0.9, weightDecay: 0.1, scaleParameter: true, clipThreshold: 0.5 },
    { kind: 'adamw', lr: 0.01, weightDecay: 0.05 },
    { kind: 'adafactor', lr: 0.01, schedule: { warmupSteps: 1, decaySteps: 3, minRatio: 0.2 } },
    { kind: 'adamw', lr: 0.01, weightDecay: 0.05, schedule: { warmupSteps: 2, decaySteps: 3 } },
  ];
  it.each(rules)('%o over three steps, with global-norm clipping', async (rule) => {
    const rng = SeededRandom.fromSeed(11);
    const random = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const fresh = () => new Map([['w', param([5, 7], Array.from(random(35)))], ['b', param([7], Array.from(random(7)))]]);
    const reference = fresh();
    const graph = new Map([...reference].map(([n, p]) => [n, { shape: p.shape, data: Float32Array.from(p.data) }]));
    const js: Optimizer = rule.kind === 'adafactor' ? new Adafactor(rule) : new AdamW(rule);
    const onnx = new OnnxOptimizer(rule, { device: 'cpu', threads: 1 });
    const maxNorms = [100, 0.5, 2];
    for (const maxGradNorm of maxNorms) {
      const grads = new Map([['w', random(35)], ['b', random(7)]]);
      let squares = 0;
      for (const g of grads.values()) for (const x of g) squares += x * x;
      const norm = Math.sqrt(squares);
      const coef = Math.min(1, maxGradNorm / (norm + 1e-6));
      js.step(reference, new Map([...grads].map(([n, g]) => [n, g.map((x) => x * coef)])));
      expect(await onnx.step(graph, grads, { maxGradNorm })).toBeCloseTo(norm, 4);
    }
    for (const name of ['w', 'b']) {
      const a = graph.get(name)!.data;
      const b = reference.get(name)!.data;
      a.forEach((x, i) => expect(Math.abs(x - b[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(b[i]))));
    }
    const jsState = new Map(js.state().map((t) => [t.name, t.data]));
    for (const t of onnx.state()) {
      const ref = jsState.get(t.name)!;
      t.data.forEach((x, i) => expect(Math.abs(x - ref[i])).toBeLessThan(1e-5 * Math.max(1e-3, Math.abs(ref[i]))));
    }
    expect(onnx.state().map((t) => t.name).sort()).toEqual([...jsState.keys()].sort());
    await onnx.release();
  });
});

describe('learning-rate schedule', () => {
  it('warms up linearly, decays by a cosine to the floor, then stays there', () => {
    const schedule = { warmupSteps: 4, decaySteps: 14, minRatio: 0.1 };
    expect([1, 2, 4].map((s) => lrFactor(schedule, s))).toEqual([0.25, 0.5, 1]);
    expect(lrFactor(schedule, 9)).toBeCloseTo(0.55, 12); // half way through the decay: (1 + 0.1) / 2
    expect(lrFactor(schedule, 14)).toBeCloseTo(0.1, 12);
    expect(lrFactor(schedule, 100)).toBeCloseTo(0.1, 12);
    expect(lrFactor(undefined, 7)).toBe(1);
    expect(lrFactor({ warmupSteps: 2 }, 50)).toBe(1);
  });

  it('is what the optimizers report as their rate, step by step', () => {
    const opt = new AdamW({ lr: 0.02, schedule: { warmupSteps: 2, decaySteps: 4, minRatio: 0 } });
    const p = new Map([['w', param([2], [1, 2])]]);
    const rates = [1, 2, 3, 4].map(() => {
      opt.step(p, new Map([['w', Float32Array.from([0.1, -0.1])]]));
      return opt.learningRate();
    });
    expect(rates.map((r) => r / 0.02)).toEqual([0.5, 1, 0.5, 0].map((x) => expect.closeTo(x, 12)));
  });
});
