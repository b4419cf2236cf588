import { lrFactor, type LrSchedule } from './lr-schedule.ts';
import { restoreSlot, stateName, type Optimizer, type Param, type StateTensor } from './optimizer.ts';

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Warm-up and decay of the rate; constant when absent. */
  schedule?: LrSchedule;
}

/** AdamW as torch.optim.AdamW: decoupled weight decay, bias-corrected moments. */
export class AdamW implements Optimizer {
  readonly kind = 'adamw';
  private t = 0;
  private readonly moments = new Map<string, { m: Float32Array; v: Float32Array }>();
  private readonly o: Required<Omit<AdamWOptions, 'schedule'>> & { schedule?: LrSchedule };

  constructor(options: AdamWOptions) {
    this.o = { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, ...options };
  }

  get steps(): number {
    return this.t;
  }

  learningRate(): number {
    return this.o.lr * lrFactor(this.o.schedule, Math.max(1, this.t));
  }

  step(params: ReadonlyMap<string, Param>, grads: ReadonlyMap<string, Float32Array>): void {
    this.t += 1;
    const [b1, b2] = this.o.betas;
    const { eps } = this.o;
    const lr = this.learningRate();
    const correction1 = 1 - b1 ** this.t;
    const sqrtCorrection2 = Math.sqrt(1 - b2 ** this.t);
    const decay = 1 - lr * this.o.weightDecay;
    for (const [name, grad] of grads) {
      const p = params.get(name);
      if (!p) throw new Error(`adamw: no parameter ${name}`);
      const { m, v } = this.momentsFor(name, p);
      const x = p.data;
      for (let i = 0; i < x.length; i++) {
        const g = grad[i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        x[i] = x[i] * decay - (lr / correction1) * (m[i] / (Math.sqrt(v[i]) / sqrtCorrection2 + eps));
      }
    }
  }

  private momentsFor(name: string, p: Param) {
    let s = this.moments.get(name);
    if (!s) this.moments.set(name, (s = { m: new Float32Array(p.data.length), v: new Float32Array(p.data.length) }));
    return s;
  }

  state(): StateTensor[] {
    return [...this.moments].flatMap(([name, { m, v }]) => [
      { name: stateName(name, 'exp_avg'), shape: [m.length], data: m },
      { name: stateName(name, 'exp_avg_sq'), shape: [v.length], data: v },
    ]);
  }

  loadState(tensors: ReadonlyMap<string, Float32Array>, steps: number, params: ReadonlyMap<string, Param>): void {
    this.t = steps;
    this.moments.clear();
    for (const [name, p] of params) {
      if (!tensors.has(stateName(name, 'exp_avg'))) continue;
      const { m, v } = this.momentsFor(name, p);
      restoreSlot(tensors, stateName(name, 'exp_avg'), m);
      restoreSlot(tensors, stateName(name, 'exp_avg_sq'), v);
    }
  }
}
