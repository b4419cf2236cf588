import { describe, expect, it } from 'vitest';
import { createSession } from '../../runtime/device/create-session.ts';
import { buildCacheRowsGraph, cacheRowsNames as names } from '../../runtime/graph/cache-rows-graph.ts';
import { serializeModel } from '../../runtime/graph/onnx-serialize.ts';
import { ort } from '../../runtime/onnx-session.ts';

/** [rows, 1, slots, 1] whose value at (r, s) is 10 * (r + 1) + s: each row and slot is recognisable. */
function cache(rows: number, slots: number, base = 0): ort.Tensor {
  const data = Float32Array.from({ length: rows * slots }, (_, i) => base + 10 * (Math.floor(i / slots) + 1) + (i % slots));
  return new ort.Tensor('float32', data, [rows, 1, slots, 1]);
}

const int64 = (...values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [values.length]);

async function run(parts: { kept: boolean; joining: boolean }, feeds: Record<string, ort.Tensor>) {
  const session = await createSession(serializeModel(buildCacheRowsGraph(1, parts)), { device: 'cpu', threads: 1 });
  try {
    const out = (await session.run(feeds))[names.output(0)];
    const [rows, , slots] = out.dims;
    return { dims: out.dims, rows: Array.from({ length: rows }, (_, r) => Array.from((out.data as Float32Array).subarray(r * slots, (r + 1) * slots))) };
  } finally {
    await session.release();
  }
}

describe('the cache-rows graph (rows joining and leaving, on the device)', () => {
  it('keeps rows in their new order, cuts the slot window and appends blank rows', async () => {
    const out = await run(
      { kept: true, joining: false },
      { [names.cache(0)]: cache(3, 4), [names.keptRows]: int64(2, 0), [names.slotFrom]: int64(1), [names.slots]: int64(3), [names.blankRows]: int64(2) },
    );
    expect(out.dims).toEqual([4, 1, 3, 1]);
    expect(out.rows).toEqual([
      [31, 32, 33],
      [11, 12, 13],
      [0, 0, 0],
      [0, 0, 0],
    ]);
  });

  it('pads kept and joining rows to the window, cutting what lies past it', async () => {
    const out = await run(
      { kept: true, joining: true },
      {
        [names.cache(0)]: cache(2, 5),
        [names.keptRows]: int64(1),
        [names.joining(0)]: cache(2, 2, 100),
        [names.slotFrom]: int64(0),
        [names.slots]: int64(3),
        [names.blankRows]: int64(0),
      },
    );
    expect(out.rows).toEqual([
      [20, 21, 22],
      [110, 111, 0],
      [120, 121, 0],
    ]);
  });

  it('takes joining rows alone when no row stays', async () => {
    const out = await run(
      { kept: false, joining: true },
      { [names.joining(0)]: cache(1, 2), [names.slotFrom]: int64(0), [names.slots]: int64(2), [names.blankRows]: int64(0) },
    );
    expect(out.rows).toEqual([[10, 11]]);
  });
});
