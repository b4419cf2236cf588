import { describe, expect, it } from 'vitest';
import { BatchKVCache, type CrossKV } from '../../runtime/engine/batch-kv-cache.ts';
import { ort } from '../../runtime/onnx-session.ts';

/**
 * The host KV cache rearranges its rows in place (rows leaving, the capacity growing): every row must
 * still read, at each of its own slots, the keys written for it at that step, and its prompt's cross
 * keys. Values name their row, slot, tensor, head and lane, so a misplaced copy shows which one.
 */
const LAYERS = 2;
const HEADS = 2;
const DK = 3;
const TENSORS = 2 * LAYERS;
const value = (row: number, slot: number, t: number, h: number, d: number) => ((row * 256 + slot) * TENSORS + t) * 8 + h * 4 + d;
const crossValue = (row: number, source: number, t: number, h: number, d: number) => -value(row, source, t, h, d) - 1;

/** A prompt's cross K/V as the encoder cache holds it: [H, slots, dk] with padding past its length. */
function crossOf(row: number, sourceLength: number, slots: number): CrossKV {
  const tensors = Array.from({ length: TENSORS }, (_, t) => {
    const data = new Float32Array(HEADS * slots * DK).fill(Number.NaN);
    for (let h = 0; h < HEADS; h++) for (let s = 0; s < sourceLength; s++) for (let d = 0; d < DK; d++) data[(h * slots + s) * DK + d] = crossValue(row, s, t, h, d);
    return data;
  });
  return { tensors, sourceLength, slots };
}

/** Drives a cache through a plan, tracking which row id sits where and the step at which each joined. */
class Driver {
  readonly cache = new BatchKVCache(LAYERS, HEADS, DK);
  ids: number[] = [];
  private readonly joinedAt = new Map<number, number>();
  private readonly sources = new Map<number, number>();
  private step = 0;

  /**
   * `inPlace`: the joining rows' cross K/V are written where crossTargets says, as the cross graph does,
   * when it offers room (it returns that room, if it did).
   */
  repack(leave: number[], join: { id: number; source: number }[], reserveTokens?: number, inPlace = false): Float32Array[] | undefined {
    const keep = this.ids.flatMap((id, i) => (leave.includes(id) ? [] : [i]));
    const slots = Math.max(...join.map((j) => j.source));
    const targets = inPlace ? this.cache.crossTargets(keep, join.length, slots) : undefined;
    const rowSize = HEADS * slots * DK;
    const joining = join.map((j, b) => {
      if (!targets) return crossOf(j.id, j.source, j.source + 2);
      const own = crossOf(j.id, j.source, slots);
      targets.forEach((target, t) => target.set(own.tensors[t], b * rowSize));
      return { tensors: targets.map((target) => target.subarray(b * rowSize, (b + 1) * rowSize)), sourceLength: j.source, slots };
    });
    this.cache.repack(keep, joining, { reserveTokens });
    this.ids = [...keep.map((i) => this.ids[i]), ...join.map((j) => j.id)];
    for (const j of join) {
      this.joinedAt.set(j.id, this.step);
      this.sources.set(j.id, j.source);
    }
    return targets;
  }

  /** Appends one step's keys for every row (its slot counted from the row's own first step). */
  append() {
    const newKV = Array.from({ length: TENSORS }, (_, t) => {
      const data = new Float32Array(this.ids.length * HEADS * DK);
      this.ids.forEach((id, b) => {
        for (let h = 0; h < HEADS; h++) for (let d = 0; d < DK; d++) data[(b * HEADS + h) * DK + d] = value(id, this.step - this.joinedAt.get(id)!, t, h, d);
      });
      return new ort.Tensor('float32', data, [this.ids.length, HEADS, 1, DK]);
    });
    this.cache.selfAttentionFeeds();
    this.cache.append(newKV);
    this.step += 1;
  }

  /** Every row's own slots and its prompt's cross keys, as the decoder would read them. */
  check() {
    const { cache } = this;
    const c = cache.capacity;
    expect(cache.past.map((p) => p.dims)).toEqual(new Array(TENSORS).fill([this.ids.length, HEADS, c, DK]));
    const s = Math.max(...this.ids.map((id) => this.sources.get(id)!));
    this.ids.forEach((id, b) => {
      const row = cache.rows[b];
      const own = this.step - this.joinedAt.get(id)!;
      expect(cache.length - row.joinSlot).toBe(own);
      for (let t = 0; t < TENSORS; t++) {
        const past = cache.past[t].data as Float32Array;
        const cross = cache.cross[t].data as Float32Array;
        for (let h = 0; h < HEADS; h++) {
          for (let d = 0; d < DK; d++) {
            for (let k = 0; k < own; k++) expect(past[((b * HEADS + h) * c + row.joinSlot + k) * DK + d]).toBe(value(id, k, t, h, d));
            for (let k = 0; k < this.sources.get(id)!; k++) expect(cross[((b * HEADS + h) * s + k) * DK + d]).toBe(crossValue(id, k, t, h, d));
          }
        }
      }
    });
  }
}

describe('the host KV cache', () => {
  it.each([undefined, 80])('keeps every row its own keys through joins, leaves, trims and growth (reserveTokens %s)', (reserveTokens) => {
    const driver = new Driver();
    const plan: Record<number, { leave: number[]; join: { id: number; source: number }[] }> = {
      0: { leave: [], join: [{ id: 0, source: 3 }] },
      5: { leave: [], join: [{ id: 1, source: 5 }, { id: 2, source: 2 }, { id: 3, source: 4 }] },
      20: { leave: [0], join: [] }, // the first row leaves: leading slots are trimmed
      31: { leave: [2], join: [{ id: 4, source: 6 }] }, // a middle row leaves while one joins
      40: { leave: [], join: [{ id: 5, source: 1 }] },
      70: { leave: [1, 4], join: [] },
      75: { leave: [3, 5], join: [{ id: 6, source: 2 }] }, // everyone leaves: a batch that starts over
    };
    for (let step = 0; step < 110; step++) {
      const change = plan[step];
      if (change) {
        driver.repack(change.leave, change.join, reserveTokens);
        driver.check();
      }
      driver.append();
      driver.check();
    }
    expect(driver.cache.capacity).toBeGreaterThan(32);
  });

  it('rearranges rows leaving and the capacity growing inside the memory it took, when that was reserved', () => {
    const driver = new Driver();
    driver.repack([], [0, 1, 2, 3].map((id) => ({ id, source: 4 })), 64);
    const store = (driver.cache.past[0].data as Float32Array).buffer;
    const crossStore = (driver.cache.cross[0].data as Float32Array).buffer;
    for (let step = 0; step < 40; step++) {
      if (step === 10) driver.repack([1], []);
      driver.append();
    }
    driver.check();
    expect(driver.cache.capacity).toBe(64);
    expect((driver.cache.past[0].data as Float32Array).buffer).toBe(store);
    expect((driver.cache.cross[0].data as Float32Array).buffer).toBe(crossStore);
  });

  type Change = { leave: number[]; join: { id: number; source: number }[]; inPlace?: boolean; placed?: boolean };
  /** Runs a plan of changes with joins written in place where asked; `placed`: crossTargets offers room. */
  function runPlan(plan: Record<number, Change>, steps: number) {
    const driver = new Driver();
    for (let step = 0; step < steps; step++) {
      const change = plan[step];
      if (change) {
        const targets = driver.repack(change.leave, change.join, 40, change.inPlace);
        expect(targets !== undefined).toBe(change.placed ?? false);
        driver.check();
        // Rows written in place are read where they were written: the packed tensors are views of that memory.
        if (targets) expect((driver.cache.cross[0].data as Float32Array).buffer).toBe(targets[0].buffer);
      }
      driver.append();
      driver.check();
    }
  }

  it('takes joining rows written in place beside rows packed before, and packs around them as rows leave and join', () => {
    const sources = (ids: number[], source: number) => ids.map((id) => ({ id, source }));
    runPlan(
      {
        0: { leave: [], join: sources([0, 1, 2], 4), inPlace: true, placed: true },
        3: { leave: [], join: [{ id: 3, source: 3 }] }, // a narrower row from elsewhere
        6: { leave: [0], join: sources([4, 5], 4), inPlace: true, placed: true }, // rows move to the front first
        9: { leave: [2], join: sources([6, 7, 8], 2), inPlace: true, placed: false }, // a kept prompt is longer
        12: { leave: [1, 3], join: sources([9, 10], 6), inPlace: true, placed: true }, // a wider stride
        15: { leave: [4, 6], join: [] },
        18: { leave: [5, 7, 8, 9, 10], join: sources([11, 12], 5), inPlace: true, placed: true }, // a batch that starts over
      },
      24,
    );
    // Two rows kept in place while the stride widens inside stores large enough: they move apart, last first.
    runPlan({ 0: { leave: [], join: sources([0, 1, 2, 3, 4, 5], 2), inPlace: true, placed: true }, 3: { leave: [2, 3, 4, 5], join: sources([6], 4), inPlace: true, placed: true } }, 6);
  });

  it('takes room for exactly the slots its rows may reach, and grows into the last of them in place', () => {
    const driver = new Driver();
    driver.repack([], [{ id: 0, source: 3 }], 64);
    driver.append();
    driver.repack([], [{ id: 1, source: 3 }], 64); // joins at slot 1: the batch may reach slot 65
    for (let step = 0; step < 40; step++) driver.append();
    const store = (driver.cache.past[0].data as Float32Array).buffer;
    for (let step = 0; step < 24; step++) driver.append();
    driver.check();
    expect(driver.cache.capacity).toBe(65);
    expect((driver.cache.past[0].data as Float32Array).buffer).toBe(store);
    expect(store.byteLength).toBe(2 * HEADS * 65 * DK * 4);
  });

  it('gives its memory back when the batch empties', () => {
    const driver = new Driver();
    driver.repack([], [{ id: 0, source: 4 }], 64);
    driver.append();
    expect(driver.cache.bytes()).toBeGreaterThan(0);
    driver.repack([0], []);
    expect(driver.cache.bytes()).toBe(0);
    expect(driver.cache.past.every((p) => (p.data as Float32Array).buffer.byteLength === 0)).toBe(true);
  });
});
