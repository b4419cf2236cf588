/** A trainable tensor: HF layout, updated in place. */
export interface Param {
  shape: number[];
  data: Float32Array;
}

/** One slot of optimizer state, as stored in a checkpoint (`<param>/<slot>`). */
export interface StateTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/**
 * The reference optimizers (adafactor.ts, adamw.ts): plain loops over Float32Arrays that read like the
 * papers and HF's code and are checked by hand-computed cases. The trainer runs the same update as an
 * onnxruntime graph (onnx-optimizer.ts), tested against these; both name their state slots alike.
 */
export interface Optimizer {
  readonly kind: 'adafactor' | 'adamw';
  /** Number of updates applied so far. */
  readonly steps: number;
  step(params: ReadonlyMap<string, Param>, grads: ReadonlyMap<string, Float32Array>): void;
  learningRate(): number;
  state(): StateTensor[];
  /** Restores state saved by state(); params give each slot's size. */
  loadState(tensors: ReadonlyMap<string, Float32Array>, steps: number, params: ReadonlyMap<string, Param>): void;
}

export function rms(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  return Math.sqrt(sum / values.length);
}

export const stateName = (param: string, slot: string) => `${param}/${slot}`;

export function restoreSlot(tensors: ReadonlyMap<string, Float32Array>, name: string, target: Float32Array): void {
  const saved = tensors.get(name);
  if (!saved || saved.length !== target.length) throw new Error(`optimizer state ${name} is missing or has the wrong size`);
  target.set(saved);
}
