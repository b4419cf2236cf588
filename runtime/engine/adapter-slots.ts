import { expectedT5WeightShapes } from '../checkpoint/t5-weights.ts';
import type { T5Config } from '../checkpoint/t5-config.ts';
import type { LoraAdapter } from '../checkpoint/lora-adapter.ts';
import { adapterNames } from '../graph/adapter-params.ts';
import { isLoraTarget } from '../graph/t5-train-graph.ts';
import { isGpuDevice } from '../device/device-config.ts';
import { ort, type ExecutionDevice } from '../onnx-session.ts';
import { EngineError } from './engine-api.ts';

interface Slot {
  adapter: LoraAdapter;
  /** Unloaded, but rows or queued requests may still use it: freed at the next collect. */
  retired: boolean;
}

/** The base's own rows: slot 0, all zeros. */
export const BASE_ADAPTER = '';

/**
 * The LoRA adapters loaded over one base, as the serving graphs take them (see adapter-params.ts):
 * per targeted layer, every adapter's A and B stacked by slot, B pre-scaled by alpha/rank, ranks padded
 * to the largest with zeros (which adds nothing). Slot numbers stay fixed while an adapter is loaded so
 * rows in flight keep theirs; the stacks are rebuilt, never changed in place, when adapters come and
 * go, so a step already running keeps reading the arrays it was given.
 */
export class AdapterSlots {
  private readonly slots: (string | undefined)[] = [BASE_ADAPTER];
  private readonly loaded = new Map<string, Slot & { index: number }>();
  /** Targeted base weight -> [out, in]. */
  private readonly shapes = new Map<string, number[]>();
  private stacks: Record<string, ort.Tensor> = {};
  private live: ReadonlySet<ort.Tensor> = new Set();
  /**
   * The factors of a batch that names no adapter: one slot of rank 0, so every low-rank MatMul has
   * nothing to multiply, whatever is loaded. The stacks' rank-1 zeros cost as much as a real adapter's
   * path: flan-t5-small with q,v targeted, a decoder step at batch 32 took 21.5-23.0 ms against
   * 15.6-16.7 without targets; with these, the same as without, and the same logits to the bit. A GPU
   * provider cannot take a zero-sized feed (feed-guard.ts): there the slot has rank 1.
   */
  private readonly baseOnly: Record<string, ort.Tensor> = {};

  constructor(
    config: T5Config,
    /** The modules the graphs take adapters for (PEFT's target_modules). */
    readonly targets: readonly string[],
    device: ExecutionDevice = 'cpu',
  ) {
    const spec = { rank: 0, alpha: 0, targets: [...targets] };
    for (const [name, shape] of expectedT5WeightShapes(config)) if (isLoraTarget(name, spec)) this.shapes.set(name, shape);
    const rank = isGpuDevice(device) ? 1 : 0;
    for (const [weight, [out, inner]] of this.shapes) {
      this.baseOnly[adapterNames.a(weight)] = new ort.Tensor('float32', new Float32Array(inner * rank), [1, inner, rank]);
      this.baseOnly[adapterNames.b(weight)] = new ort.Tensor('float32', new Float32Array(rank * out), [1, rank, out]);
    }
    this.rebuild();
  }

  has(id: string): boolean {
    const slot = this.loaded.get(id);
    return slot !== undefined && !slot.retired;
  }

  /** Loads an adapter into a free slot (or revives one retired but not yet freed). */
  add(id: string, adapter: LoraAdapter): void {
    const present = this.loaded.get(id);
    if (present) {
      present.retired = false;
      return;
    }
    for (const [weight, f] of adapter.factors) {
      const shape = this.shapes.get(weight);
      if (!shape) throw new EngineError('model_load_failed', `adapter ${id} targets ${weight}; this server takes adapters on modules ${this.targets.join(', ')} (FLAN_ADAPTER_TARGETS)`, 'model');
      if (f.a.shape[1] !== shape[1] || f.b.shape[0] !== shape[0]) throw new EngineError('model_load_failed', `adapter ${id}: ${weight} factors do not fit the base's [${shape}]`, 'model');
    }
    let index = this.slots.indexOf(undefined, 1);
    if (index === -1) index = this.slots.push(undefined) - 1;
    this.slots[index] = id;
    this.loaded.set(id, { adapter, retired: false, index });
    this.rebuild();
  }

  /** Marks an adapter unloaded; its slot is freed once no row uses it (collect). */
  retire(id: string): void {
    const slot = this.loaded.get(id);
    if (slot) slot.retired = true;
  }

  /** Frees the retired adapters that nothing in `inUse` still names. */
  collect(inUse: ReadonlySet<string>): void {
    let freed = false;
    for (const [id, slot] of this.loaded) {
      if (!slot.retired || inUse.has(id)) continue;
      this.loaded.delete(id);
      this.slots[slot.index] = undefined;
      freed = true;
    }
    if (freed) this.rebuild();
  }

  /** The graphs' adapter feeds for rows naming these adapters (BASE_ADAPTER for the bare base). */
  feeds(rowAdapters: readonly string[]): Record<string, ort.Tensor> {
    const index = new BigInt64Array(rowAdapters.length);
    if (rowAdapters.every((id) => id === BASE_ADAPTER)) return { ...this.baseOnly, [adapterNames.index]: new ort.Tensor('int64', index, [rowAdapters.length]) };
    rowAdapters.forEach((id, b) => {
      if (id === BASE_ADAPTER) return;
      const slot = this.loaded.get(id);
      if (!slot) throw new EngineError('internal', `adapter ${id} is not loaded`);
      index[b] = BigInt(slot.index);
    });
    return { ...this.stacks, [adapterNames.index]: new ort.Tensor('int64', index, [rowAdapters.length]) };
  }

  /** Every factor tensor `feeds` may hand out now: a new set after each rebuild (see ResidentTensors). */
  factorTensors(): ReadonlySet<ort.Tensor> {
    return this.live;
  }

  /** Bytes the stacks hold. */
  bytes(): number {
    return Object.values(this.stacks).reduce((sum, t) => sum + (t.data as Float32Array).byteLength, 0);
  }

  private rebuild(): void {
    const count = this.slots.length;
    const rank = Math.max(1, ...[...this.loaded.values()].map((s) => s.adapter.spec.rank));
    const stacks: Record<string, ort.Tensor> = {};
    for (const [weight, [out, inner]] of this.shapes) {
      const a = new Float32Array(count * inner * rank);
      const b = new Float32Array(count * rank * out);
      for (const { adapter, index } of this.loaded.values()) {
        const f = adapter.factors.get(weight);
        if (!f) continue;
        const r = adapter.spec.rank;
        const scale = adapter.spec.alpha / r;
        // A [r, in] -> slot's [in, rank]; B [out, r] -> slot's [rank, out], scaled.
        for (let k = 0; k < r; k++) {
          for (let i = 0; i < inner; i++) a[(index * inner + i) * rank + k] = f.a.data[k * inner + i];
          for (let o = 0; o < out; o++) b[(index * rank + k) * out + o] = scale * f.b.data[o * r + k];
        }
      }
      stacks[adapterNames.a(weight)] = new ort.Tensor('float32', a, [count, inner, rank]);
      stacks[adapterNames.b(weight)] = new ort.Tensor('float32', b, [count, rank, out]);
    }
    this.stacks = stacks;
    this.live = new Set([...Object.values(this.baseOnly), ...Object.values(stacks)]);
  }
}
