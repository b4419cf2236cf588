import { GraphBuilder } from '../../runtime/graph/graph-builder.ts';
import { attr } from '../../runtime/graph/ir.ts';
import { serializeModel } from '../../runtime/graph/onnx-serialize.ts';
import { createSession, ort, type SessionConfig } from '../../runtime/onnx-session.ts';
import type { AdafactorOptions } from './adafactor.ts';
import type { AdamWOptions } from './adamw.ts';
import { restoreSlot, stateName, type Param, type StateTensor } from './optimizer.ts';
import { lrFactor } from './lr-schedule.ts';

export type UpdateRule = ({ kind: 'adafactor' } & AdafactorOptions) | ({ kind: 'adamw' } & AdamWOptions);

/**
 * Global-norm clipping and the optimizer update as one onnxruntime graph over every trainable
 * tensor, so the elementwise passes over the model run on all the session's threads instead of one JS
 * thread (on flan-t5-small that is most of a step's time outside the train graph). The arithmetic is
 * that of adafactor.ts / adamw.ts, the plain-loop references it is tested against, and the state
 * slots have the same names, so checkpoints of either read the same.
 */
export class OnnxOptimizer {
  private t = 0;
  private readonly slots = new Map<string, Float32Array>();
  private session: ort.InferenceSession | undefined;
  private order: string[] = [];

  constructor(
    readonly rule: UpdateRule,
    private readonly sessionConfig: SessionConfig,
  ) {}

  get kind(): UpdateRule['kind'] {
    return this.rule.kind;
  }

  get steps(): number {
    return this.t;
  }

  learningRate(): number {
    return this.rule.lr * lrFactor(this.rule.schedule, Math.max(1, this.t));
  }

  /**
   * Scales `grads` by gradScale (1 / micro-batches when they hold sums), clips them to maxGradNorm
   * (torch's clip_grad_norm_: times min(1, max / (norm + 1e-6))) and updates the params, replacing
   * each param's data array. Returns the norm before clipping.
   */
  async step(
    params: ReadonlyMap<string, Param>,
    grads: ReadonlyMap<string, Float32Array>,
    opts: { maxGradNorm?: number; gradScale?: number } = {},
  ): Promise<number> {
    if (!this.session) await this.build(params);
    this.t += 1;
    const feeds: Record<string, ort.Tensor> = {
      max_norm: scalar(opts.maxGradNorm ?? Number.POSITIVE_INFINITY),
      grad_scale: scalar(opts.gradScale ?? 1),
      ...this.scalars(),
    };
    this.order.forEach((name, i) => {
      const p = params.get(name)!;
      const g = grads.get(name);
      if (!g) throw new Error(`optimizer: no gradient for ${name}`);
      feeds[`p${i}`] = new ort.Tensor('float32', p.data, p.shape);
      feeds[`g${i}`] = new ort.Tensor('float32', g, p.shape);
      for (const slot of this.slotNames(p)) feeds[`${slot}${i}`] = new ort.Tensor('float32', this.slots.get(stateName(name, slot))!, [this.slots.get(stateName(name, slot))!.length]);
    });
    const out = await this.session!.run(feeds);
    this.order.forEach((name, i) => {
      const p = params.get(name)!;
      p.data = (out[`new_p${i}`] as ort.Tensor).data as Float32Array;
      for (const slot of this.slotNames(p)) this.slots.set(stateName(name, slot), (out[`new_${slot}${i}`] as ort.Tensor).data as Float32Array);
    });
    return (out.grad_norm as ort.Tensor).data[0] as number;
  }

  state(): StateTensor[] {
    return [...this.slots].map(([name, data]) => ({ name, shape: [data.length], data }));
  }

  loadState(tensors: ReadonlyMap<string, Float32Array>, steps: number, params: ReadonlyMap<string, Param>): void {
    this.t = steps;
    for (const [name, p] of params) {
      for (const slot of this.slotNames(p)) {
        const target = this.newSlot(p, slot);
        if (steps > 0) restoreSlot(tensors, stateName(name, slot), target);
        this.slots.set(stateName(name, slot), target);
      }
    }
  }

  async release(): Promise<void> {
    await this.session?.release();
  }

  private slotNames(p: Param): string[] {
    if (this.rule.kind === 'adamw') return ['exp_avg', 'exp_avg_sq'];
    const slots = p.shape.length >= 2 ? ['row', 'col'] : ['full'];
    return this.rule.beta1 !== undefined && this.rule.beta1 !== null ? [...slots, 'avg'] : slots;
  }

  private newSlot(p: Param, slot: string): Float32Array {
    const cols = p.shape[p.shape.length - 1];
    const length = slot === 'row' ? p.data.length / cols : slot === 'col' ? cols : p.data.length;
    return new Float32Array(length);
  }

  /** Step-dependent constants, computed in double precision as the references do. */
  private scalars(): Record<string, ort.Tensor> {
    const t = this.t;
    const lr = this.learningRate();
    if (this.rule.kind === 'adafactor') return { beta2t: scalar(1 - Math.pow(t, this.rule.decayRate ?? -0.8)), lr: scalar(lr) };
    const [b1, b2] = this.rule.betas ?? [0.9, 0.999];
    return {
      step_size: scalar(lr / (1 - b1 ** t)),
      sqrt_correction2: scalar(Math.sqrt(1 - b2 ** t)),
      decay: scalar(1 - lr * (this.rule.weightDecay ?? 0.01)),
    };
  }

  private async build(params: ReadonlyMap<string, Param>): Promise<void> {
    this.order = [...params.keys()];
    for (const [name, p] of params) {
      for (const slot of this.slotNames(p)) if (!this.slots.has(stateName(name, slot))) this.slots.set(stateName(name, slot), this.newSlot(p, slot));
    }
    const g = new GraphBuilder(`${this.rule.kind}_update`);
    const maxNorm = g.input('max_norm', 'float32', []);
    const gradScale = g.input('grad_scale', 'float32', []);
    const inputs = this.order.map((name, i) => {
      const p = params.get(name)!;
      return {
        p,
        value: g.input(`p${i}`, 'float32', p.shape),
        grad: g.mul(g.input(`g${i}`, 'float32', p.shape), gradScale),
        slots: Object.fromEntries(this.slotNames(p).map((s) => [s, g.input(`${s}${i}`, 'float32', [this.newSlot(p, s).length])])),
      };
    });
    const sumAll = (x: string) => g.op('ReduceSum', [x], { keepdims: attr.int(0) });
    const squares = inputs.map((x) => sumAll(g.mul(x.grad, x.grad)));
    const norm = g.sqrt(squares.reduce((a, b) => g.add(a, b)));
    g.output(norm, 'grad_norm', 'float32', []);
    const coef = g.min(g.constFloat(1), g.div(maxNorm, g.add(norm, g.constFloat(1e-6))));
    const emit = this.rule.kind === 'adafactor' ? adafactorUpdate(g, this.rule) : adamwUpdate(g, this.rule);
    inputs.forEach((x, i) => {
      const { value, slots } = emit(x.p, x.value, g.mul(x.grad, coef), x.slots);
      g.output(value, `new_p${i}`, 'float32', x.p.shape);
      for (const [slot, v] of Object.entries(slots)) g.output(v, `new_${slot}${i}`, 'float32', [this.newSlot(x.p, slot).length]);
    });
    this.session = await createSession(serializeModel(g.build()), this.sessionConfig);
  }
}

type EmitUpdate = (
  p: Param,
  value: string,
  grad: string,
  slots: Record<string, string>,
) => { value: string; slots: Record<string, string> };

const scalar = (v: number) => new ort.Tensor('float32', Float32Array.from([v]), []);

/** adafactor.ts's step, tensor-wise; beta2t and the (scheduled) rate are fed each step. */
function adafactorUpdate(g: GraphBuilder, o: AdafactorOptions): EmitUpdate {
  const beta2t = g.input('beta2t', 'float32', []);
  const baseLr = g.input('lr', 'float32', []);
  const keep = beta2t;
  const take = g.sub(g.constFloat(1), beta2t);
  const [eps1, eps2] = o.eps ?? [1e-30, 1e-3];
  const mean = (x: string, axes?: number[]) => (axes ? g.reduceMean(x, axes, false) : g.op('ReduceMean', [x], { keepdims: attr.int(0) }));
  const ema = (state: string, fresh: string) => g.add(g.mul(state, keep), g.mul(fresh, take));
  const rsqrt = (x: string) => g.div(g.constFloat(1), g.sqrt(x));
  return (p, value, grad, slots) => {
    const out: Record<string, string> = {};
    const squared = g.add(g.mul(grad, grad), g.constFloat(eps1));
    let update: string;
    if (p.shape.length >= 2) {
      const matrix = (v: string) => g.reshape(v, [-1, p.shape[p.shape.length - 1]]);
      out.row = ema(slots.row, mean(matrix(squared), [-1]));
      out.col = ema(slots.col, mean(matrix(squared), [-2]));
      const rowFactor = g.unsqueeze(rsqrt(g.div(out.row, mean(out.row))), [-1]);
      update = g.reshape(g.mul(g.mul(matrix(grad), rowFactor), rsqrt(out.col)), p.shape);
    } else {
      out.full = ema(slots.full, squared);
      update = g.mul(grad, rsqrt(out.full));
    }
    let lr = baseLr;
    if (o.scaleParameter) lr = g.mul(lr, g.max(g.constFloat(eps2), g.sqrt(mean(g.mul(value, value)))));
    const rmsUpdate = g.sqrt(mean(g.mul(update, update)));
    const scale = g.div(lr, g.max(g.constFloat(1), g.div(rmsUpdate, g.constFloat(o.clipThreshold ?? 1))));
    let applied = g.mul(update, scale);
    if (o.beta1 !== undefined && o.beta1 !== null) {
      out.avg = g.add(g.mul(slots.avg, g.constFloat(o.beta1)), g.mul(g.reshape(applied, [-1]), g.constFloat(1 - o.beta1)));
      applied = g.reshape(out.avg, p.shape);
    }
    const decayed = o.weightDecay ? g.sub(value, g.mul(value, g.mul(lr, g.constFloat(o.weightDecay)))) : value;
    return { value: g.sub(decayed, applied), slots: out };
  };
}

/** adamw.ts's step, tensor-wise; the bias corrections and the (scheduled) decay are fed each step. */
function adamwUpdate(g: GraphBuilder, o: AdamWOptions): EmitUpdate {
  const stepSize = g.input('step_size', 'float32', []);
  const sqrtCorrection2 = g.input('sqrt_correction2', 'float32', []);
  const decay = g.input('decay', 'float32', []);
  const [b1, b2] = o.betas ?? [0.9, 0.999];
  return (p, value, grad, slots) => {
    const flat = g.reshape(grad, [-1]);
    const m = g.add(g.mul(slots.exp_avg, g.constFloat(b1)), g.mul(flat, g.constFloat(1 - b1)));
    const v = g.add(g.mul(slots.exp_avg_sq, g.constFloat(b2)), g.mul(g.mul(flat, flat), g.constFloat(1 - b2)));
    const denom = g.add(g.div(g.sqrt(v), sqrtCorrection2), g.constFloat(o.eps ?? 1e-8));
    const step = g.reshape(g.mul(stepSize, g.div(m, denom)), p.shape);
    return { value: g.sub(g.mul(value, decay), step), slots: { exp_avg: m, exp_avg_sq: v } };
  };
}
