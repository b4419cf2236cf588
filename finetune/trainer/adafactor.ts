import { lrFactor, type LrSchedule } from './lr-schedule.ts';
import { restoreSlot, rms, stateName, type Optimizer, type Param, type StateTensor } from './optimizer.ts';

export interface AdafactorOptions {
  /** Base learning rate (the paper finetunes with a constant 1e-3). */
  lr: number;
  /** Warm-up and decay of the rate; constant when absent. */
  schedule?: LrSchedule;
  /** [regulariser added to g^2, floor of the parameter scale] */
  eps?: [number, number];
  clipThreshold?: number;
  decayRate?: number;
  /** First moment; null (the default) keeps none, as Flan's finetuning does. */
  beta1?: number | null;
  weightDecay?: number;
  /** Scale the step by the parameter's RMS (relative step sizes). Off for constant-rate finetuning. */
  scaleParameter?: boolean;
}

interface Slots {
  row?: Float32Array; // [rows]: running mean over columns of g^2 (factored)
  col?: Float32Array; // [cols]: running mean over rows of g^2 (factored)
  full?: Float32Array; // running g^2 (vectors)
  avg?: Float32Array; // first moment, when beta1 is set
}

/**
 * Adafactor (Shazeer and Stern, 2018) as Hugging Face's transformers.optimization.Adafactor with
 * relative_step=False: the second moment of a matrix is kept factored as row and column means, the
 * update is clipped by its RMS, and the rate is constant. Matrices are in HF layout [out, in], so
 * rows are output features, as in the reference.
 */
export class Adafactor implements Optimizer {
  readonly kind = 'adafactor';
  private t = 0;
  private readonly slots = new Map<string, Slots>();
  private scratch = new Float32Array(0);
  private readonly o: Required<Omit<AdafactorOptions, 'beta1' | 'schedule'>> & { beta1: number | null; schedule?: LrSchedule };

  constructor(options: AdafactorOptions) {
    this.o = {
      eps: [1e-30, 1e-3],
      clipThreshold: 1.0,
      decayRate: -0.8,
      beta1: null,
      weightDecay: 0,
      scaleParameter: false,
      ...options,
    };
  }

  get steps(): number {
    return this.t;
  }

  learningRate(): number {
    return this.o.lr * lrFactor(this.o.schedule, Math.max(1, this.t));
  }

  step(params: ReadonlyMap<string, Param>, grads: ReadonlyMap<string, Float32Array>): void {
    this.t += 1;
    const beta2t = 1 - Math.pow(this.t, this.o.decayRate);
    const baseLr = this.learningRate();
    for (const [name, grad] of grads) {
      const p = params.get(name);
      if (!p) throw new Error(`adafactor: no parameter ${name}`);
      const slots = this.slotsFor(name, p);
      const lr = this.o.scaleParameter ? Math.max(this.o.eps[1], rms(p.data)) * baseLr : baseLr;
      // One scratch buffer for the update, reused across parameters and steps: a fresh array per
      // tensor would allocate the model's size again on every step.
      if (this.scratch.length < grad.length) this.scratch = new Float32Array(grad.length);
      const update = this.scratch.subarray(0, grad.length);
      const squares = slots.row ? this.factoredUpdate(p, grad, slots, beta2t, update) : this.fullUpdate(grad, slots.full!, beta2t, update);
      const scale = lr / Math.max(1, Math.sqrt(squares / update.length) / this.o.clipThreshold);
      const decay = this.o.weightDecay * lr;
      const x = p.data;
      if (slots.avg) {
        const b1 = this.o.beta1!;
        const avg = slots.avg;
        for (let i = 0; i < x.length; i++) {
          avg[i] = b1 * avg[i] + (1 - b1) * update[i] * scale;
          x[i] = x[i] - decay * x[i] - avg[i];
        }
      } else {
        for (let i = 0; i < x.length; i++) x[i] = x[i] - decay * x[i] - update[i] * scale;
      }
    }
  }

  /** Writes the unscaled update into `out` and returns its sum of squares. */
  private factoredUpdate(p: Param, grad: Float32Array, slots: Slots, beta2t: number, out: Float32Array): number {
    const cols = p.shape[p.shape.length - 1];
    const rows = grad.length / cols;
    const row = slots.row!;
    const col = slots.col!;
    const eps = this.o.eps[0];
    const colSums = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      const offset = r * cols;
      for (let c = 0; c < cols; c++) {
        const u = grad[offset + c] * grad[offset + c] + eps;
        sum += u;
        colSums[c] += u;
      }
      row[r] = beta2t * row[r] + (1 - beta2t) * (sum / cols);
    }
    const colFactor = new Float64Array(cols);
    for (let c = 0; c < cols; c++) {
      col[c] = beta2t * col[c] + (1 - beta2t) * (colSums[c] / rows);
      colFactor[c] = 1 / Math.sqrt(col[c]);
    }
    let rowMean = 0;
    for (let r = 0; r < rows; r++) rowMean += row[r];
    rowMean /= rows;
    let squares = 0;
    for (let r = 0; r < rows; r++) {
      // HF: rsqrt(row / mean(row)) * rsqrt(col): the factored estimate of 1 / sqrt(E[g^2]).
      const rFactor = 1 / Math.sqrt(row[r] / rowMean);
      const offset = r * cols;
      for (let c = 0; c < cols; c++) {
        const u = rFactor * colFactor[c] * grad[offset + c];
        out[offset + c] = u;
        squares += u * u;
      }
    }
    return squares;
  }

  private fullUpdate(grad: Float32Array, v: Float32Array, beta2t: number, out: Float32Array): number {
    let squares = 0;
    for (let i = 0; i < grad.length; i++) {
      v[i] = beta2t * v[i] + (1 - beta2t) * (grad[i] * grad[i] + this.o.eps[0]);
      const u = grad[i] / Math.sqrt(v[i]);
      out[i] = u;
      squares += u * u;
    }
    return squares;
  }

  private slotsFor(name: string, p: Param): Slots {
    let s = this.slots.get(name);
    if (!s) {
      const cols = p.shape[p.shape.length - 1];
      s = p.shape.length >= 2 ? { row: new Float32Array(p.data.length / cols), col: new Float32Array(cols) } : { full: new Float32Array(p.data.length) };
      if (this.o.beta1 !== null) s.avg = new Float32Array(p.data.length);
      this.slots.set(name, s);
    }
    return s;
  }

  state(): StateTensor[] {
    const out: StateTensor[] = [];
    for (const [name, s] of this.slots) {
      for (const slot of ['row', 'col', 'full', 'avg'] as const) {
        const data = s[slot];
        if (data) out.push({ name: stateName(name, slot), shape: [data.length], data });
      }
    }
    return out;
  }

  loadState(tensors: ReadonlyMap<string, Float32Array>, steps: number, params: ReadonlyMap<string, Param>): void {
    this.t = steps;
    this.slots.clear();
    for (const [name, p] of params) {
      if (!tensors.has(stateName(name, 'row')) && !tensors.has(stateName(name, 'full'))) continue;
      const s = this.slotsFor(name, p);
      for (const slot of ['row', 'col', 'full', 'avg'] as const) {
        const target = s[slot];
        if (target) restoreSlot(tensors, stateName(name, slot), target);
      }
    }
  }
}
