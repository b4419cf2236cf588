import { GraphBuilder } from './graph-builder.ts';
import type { Graph } from './ir.ts';

/**
 * The graph that changes a batch's cache tensors [B, H, S, dk] between decode steps where they live on
 * the device (WebGPU), so that rows joining or leaving never take the cache through the host. Per
 * tensor: the kept rows (Gather), cut to a window of slots (Slice) and padded to the window's width
 * (Pad), then the joining rows' tensors after them (Concat), then `blank_rows` zero rows (Pad). A batch
 * with no kept rows or no joining tensors uses the variant without that part: a GPU provider must never
 * see a zero-sized feed.
 */
export interface CacheRowsParts {
  /** Whether rows of the current cache stay (inputs `cache.{i}` and `kept_rows`). */
  kept: boolean;
  /** Whether tensors of joining rows come after them (inputs `joining.{i}`). */
  joining: boolean;
}

export const cacheRowsNames = {
  cache: (i: number) => `cache.${i}`,
  joining: (i: number) => `joining.${i}`,
  output: (i: number) => `rows.${i}`,
  /** [K] int64: the kept rows' old indices, in their new order. */
  keptRows: 'kept_rows',
  /** [1] int64: the first slot of the kept rows' window (the joining tensors' window starts at 0). */
  slotFrom: 'slot_from',
  /** [1] int64: the window's width, which every output has, zero-padded where a part is shorter. */
  slots: 'slots',
  /** [1] int64: zero rows appended (joining rows whose slots are all masked). */
  blankRows: 'blank_rows',
};

export function buildCacheRowsGraph(count: number, parts: CacheRowsParts): Graph {
  if (!parts.kept && !parts.joining) throw new Error('a cache-rows graph needs kept rows or joining tensors');
  const g = new GraphBuilder(`cache_rows_${parts.kept ? 'k' : ''}${parts.joining ? 'j' : ''}_${count}`);
  const n = cacheRowsNames;
  const keptRows = parts.kept ? g.input(n.keptRows, 'int64', ['kept']) : '';
  const slotFrom = g.input(n.slotFrom, 'int64', [1]);
  const slots = g.input(n.slots, 'int64', [1]);
  const blankRows = g.input(n.blankRows, 'int64', [1]);
  const zero = g.constInt64([0]);
  const pads = (rowsEnd: string, slotsEnd: string) => g.concat([zero, zero, zero, zero, rowsEnd, zero, slotsEnd, zero], 0);
  /** Slots [from, from + slots) of x, zero-padded to `slots` where x is shorter. */
  const window = (x: string, from: string) => {
    const cut = g.op('Slice', [x, from, g.add(from, slots), g.constInt64([2])]);
    return g.op('Pad', [cut, pads(zero, g.sub(slots, g.dim(cut, 2)))]);
  };
  for (let i = 0; i < count; i++) {
    // Distinct dimension names: onnxruntime may take equal names for equal sizes.
    const pieces: string[] = [];
    if (parts.kept) pieces.push(window(g.gather(g.input(n.cache(i), 'float32', ['rows', 'heads', 'slots', 'dk']), keptRows, 0), slotFrom));
    if (parts.joining) pieces.push(window(g.input(n.joining(i), 'float32', ['joining_rows', 'heads', 'joining_slots', 'dk']), zero));
    const rows = pieces.length > 1 ? g.concat(pieces, 0) : pieces[0];
    g.output(g.op('Pad', [rows, pads(blankRows, zero)]), n.output(i), 'float32', ['out_rows', 'heads', 'out_slots', 'dk']);
  }
  return g.build();
}
