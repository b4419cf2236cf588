import type { T5Weights } from '../checkpoint/t5-weights.ts';
import type { GraphBuilder } from './graph-builder.ts';
import type { T5Params } from './t5-layers.ts';
import { isLoraTarget } from './t5-train-graph.ts';

/**
 * Inputs of the serving graphs that carry LoRA adapters chosen per row: `adapter_index` [batch] picks
 * each row's slot, and per targeted layer the adapters' factors stacked by slot, A as [slots, in, rank]
 * and B as [slots, rank, out] with the adapter's alpha/rank already folded into B. Slot 0 holds zeros:
 * the bare base. Factors are inputs rather than initializers so adapters load and leave without a new
 * session, and the base weights stay initializers that every row shares.
 */
export const adapterNames = {
  index: 'adapter_index',
  a: (weight: string) => `adapter.${weight}.A`,
  b: (weight: string) => `adapter.${weight}.B`,
};

/**
 * The params `p` plus a low-rank path on every linear layer whose module is in `targets` (PEFT's
 * target_modules, e.g. ['q', 'v']): y = x W + (x A[idx]) B[idx], as a Gather of each row's factors and
 * two batched MatMuls. Inputs are declared as a graph first uses them, so a graph without a targeted
 * layer has none.
 */
export function adapterParams(g: GraphBuilder, p: T5Params, weights: T5Weights, targets: readonly string[] | undefined): T5Params {
  if (!targets?.length) return p;
  const spec = { rank: 0, alpha: 0, targets: [...targets] };
  let index: string | undefined;
  return {
    ...p,
    lowRank(x, name) {
      if (!isLoraTarget(name, spec)) return undefined;
      const w = weights.get(name);
      if (!w) throw new Error(`weight ${name} is missing`);
      const [out, inner] = w.shape;
      index ??= g.input(adapterNames.index, 'int64', ['batch']);
      const a = g.gather(g.input(adapterNames.a(name), 'float32', ['adapter_slots', inner, 'adapter_rank']), index);
      const b = g.gather(g.input(adapterNames.b(name), 'float32', ['adapter_slots', 'adapter_rank', out]), index);
      return g.matmul(g.matmul(x, a), b);
    },
  };
}
