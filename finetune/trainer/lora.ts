import type { LoraAdapter } from '../../runtime/checkpoint/lora-adapter.ts';
import type { T5Weights } from '../../runtime/checkpoint/t5-weights.ts';
import { isLoraTarget, loraNames, type LoraSpec } from '../../runtime/graph/t5-train-graph.ts';
import type { SeededRandom } from '../../runtime/seeded-random.ts';
import type { Param } from './optimizer.ts';

/**
 * Fresh LoRA factors for every targeted linear layer, initialised as PEFT does: A from
 * kaiming_uniform(a=sqrt(5)), i.e. uniform(+-1/sqrt(in)), and B zero, so training starts exactly at
 * the base model.
 */
export function initLoraParams(base: T5Weights, spec: LoraSpec, rng: SeededRandom): Map<string, Param> {
  const out = new Map<string, Param>();
  for (const [name, w] of base) {
    if (!isLoraTarget(name, spec)) continue;
    const [rows, cols] = w.shape;
    const { a, b } = loraNames(name);
    const bound = 1 / Math.sqrt(cols);
    const aData = new Float32Array(spec.rank * cols);
    for (let i = 0; i < aData.length; i++) aData[i] = (rng.next() * 2 - 1) * bound;
    out.set(a, { shape: [spec.rank, cols], data: aData });
    out.set(b, { shape: [rows, spec.rank], data: new Float32Array(rows * spec.rank) });
  }
  if (out.size === 0) throw new Error(`LoRA targets ${JSON.stringify(spec.targets)} match no linear layer`);
  return out;
}

/**
 * Base weights with W + (alpha / r) B A folded into each targeted layer: the result serves at full
 * speed through the ordinary inference graphs. The base map is not modified.
 */
export function mergeLora(
  base: T5Weights,
  factors: ReadonlyMap<string, Param>,
  spec: LoraSpec,
  targeted: (weight: string) => boolean = (weight) => isLoraTarget(weight, spec),
): T5Weights {
  const scale = spec.alpha / spec.rank;
  const merged: T5Weights = new Map();
  for (const [name, w] of base) {
    if (!targeted(name)) {
      merged.set(name, w);
      continue;
    }
    const { a, b } = loraNames(name);
    const A = factors.get(a);
    const B = factors.get(b);
    if (!A || !B) throw new Error(`mergeLora: factors of ${name} are missing`);
    const [rows, cols] = w.shape;
    const r = spec.rank;
    const data = Float32Array.from(w.data);
    for (let i = 0; i < rows; i++) {
      for (let k = 0; k < r; k++) {
        const bik = B.data[i * r + k] * scale;
        if (bik === 0) continue;
        for (let j = 0; j < cols; j++) data[i * cols + j] += bik * A.data[k * cols + j];
      }
    }
    merged.set(name, { shape: w.shape, data });
  }
  return merged;
}

/** A published adapter folded into its base: the merged export of an adapter version. */
export function mergeAdapter(base: T5Weights, adapter: LoraAdapter): T5Weights {
  const factors = new Map<string, Param>();
  for (const [weight, f] of adapter.factors) {
    const names = loraNames(weight);
    factors.set(names.a, f.a);
    factors.set(names.b, f.b);
  }
  // Only the layers the adapter holds: a target module it has no factors for stays as the base's.
  return mergeLora(base, factors, adapter.spec, (name) => adapter.factors.has(name));
}
