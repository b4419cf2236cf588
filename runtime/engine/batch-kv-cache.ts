import type { TransferTally } from '../device/transfer-tally.ts';
import { ort } from '../onnx-session.ts';
import type { AdapterFeeds, T5Runner } from '../t5-runner.ts';

/** Cross-attention keys and values of one prompt: per layer key then value, each [H, slots, dk]. */
export interface CrossKV {
  tensors: Float32Array[];
  /** The prompt's tokens: the first `sourceLength` of each head's `slots`; the rest are padding. */
  sourceLength: number;
  slots: number;
}

/**
 * Row b of batched cross K/V tensors [B, H, S, dk], as views of the batch's memory rather than copies:
 * the padding past the prompt's real `length` stays (it is never read), and 50 MiB of fresh pages per
 * 32 joining prompts are not written (page faults cost ~20 us each in this VM).
 */
export function sliceCrossRow(cross: ort.Tensor[], b: number, length: number): CrossKV {
  const [, heads, source, dk] = cross[0].dims;
  const size = heads * source * dk;
  return { tensors: cross.map((t) => (t.data as Float32Array).subarray(b * size, (b + 1) * size)), sourceLength: length, slots: source };
}

export interface CacheRow {
  cross: CrossKV;
  /** The cache slot where this row's first decoder token sits; slots before it are not its own. */
  joinSlot: number;
}

export interface SelfAttentionFeeds {
  pastMask: ort.Tensor; // [B, C]
  pastPositions: ort.Tensor; // [B, C]
  queryPositions: ort.Tensor; // [B, 1]
}

export interface CacheRepackOptions {
  tally?: TransferTally;
  /** The most tokens any row of the new batch may still add: the memory taken now has room for them. */
  reserveTokens?: number;
}

const CHUNK = 32;
/** How many slots past the current length a new store makes room for, at most (see roomFor). */
const RESERVE_AHEAD = 2 * CHUNK;

/**
 * The running batch's KV cache, owned here rather than passed through the runtime: self-attention
 * buffers [B, H, capacity, dk] that the decoder reads in place, into which each step's new keys and
 * values are written at the shared slot `length`. A row that joins mid-flight starts at the current
 * slot, with the slots before it masked out, so rows at different lengths share one buffer. Copies
 * happen only when membership changes (repack) or the capacity grows by a chunk, never on a plain step.
 *
 * The tensors are views of longer stores that are rearranged in place: a batch takes memory once, with
 * room for the tokens its rows may still add, and rows leaving or the capacity growing move data inside
 * it. Fresh memory per repack cost a batch of 32 about 1 s of page faults per burst (~250 MiB).
 * Slots no row owns keep stale keys: they are masked, and a masked score adds -1e9, so softmax gives
 * them exactly 0 as it did to zeros.
 */
export class BatchKVCache {
  rows: CacheRow[] = [];
  /** Slots in use: every row's keys live in [joinSlot, length). */
  length = 0;
  capacity = 0;
  past: ort.Tensor[] = [];
  cross: ort.Tensor[] = [];
  encoderMask: ort.Tensor = new ort.Tensor('int64', new BigInt64Array(0), [0, 0]);
  /** Per layer key then value: the self-attention stores, whose first B x H x capacity x dk values are `past`. */
  private stores: Float32Array[] = [];
  private crossStores: Float32Array[] = [];
  /** The slot where the batch's longest row may end (its reserved tokens), for sizing a new store. */
  private endSlot = 0;

  constructor(
    private readonly layers: number,
    private readonly heads: number,
    private readonly headDim: number,
  ) {
    this.setViews(0, 0);
  }

  /** Bytes of the batch's self- and cross-attention tensors (their stores may hold up to RESERVE_AHEAD slots and rows that left more). */
  bytes(): number {
    return [...this.past, ...this.cross].reduce((sum, t) => sum + (t.data as Float32Array).byteLength, 0);
  }

  /**
   * Keeps the rows at `keep` (old indices, in their new order) and appends `joining` rows, dropping the
   * leading slots no remaining row uses.
   */
  repack(keep: number[], joining: CrossKV[], opts: CacheRepackOptions = {}): void {
    const kept = keep.map((i) => this.rows[i]);
    const trim = kept.length ? Math.min(...kept.map((r) => r.joinSlot)) : this.length;
    const newLength = this.length - trim;
    this.rows = [
      ...kept.map((r) => ({ cross: r.cross, joinSlot: r.joinSlot - trim })),
      ...joining.map((cross) => ({ cross, joinSlot: newLength })),
    ];
    const capacity = capacityFor(newLength);
    this.endSlot = newLength + (opts.reserveTokens ?? 0);
    if (this.rows.length === 0) {
      // An empty batch holds nothing: the memory goes back with the idle trim.
      this.stores = [];
      this.crossStores = [];
    } else if (isIncreasing(keep) && this.fits(this.rows.length, capacity)) {
      this.compact(keep, trim, newLength);
      this.restride(kept.length, newLength, capacity);
    } else {
      const old = this.stores;
      const oldCapacity = this.capacity;
      this.stores = this.newStores(this.rows.length, this.roomFor(newLength));
      this.copyInto(old, oldCapacity, keep, trim, newLength, capacity);
    }
    this.length = newLength;
    this.setViews(this.rows.length, capacity);
    this.packCross();
  }

  /**
   * Room for `count` rows joining after the rows at `keep`, with prompts at most `slots` long: per layer
   * key then value, the [count, H, slots, dk] part of the packed cross stores where the cross graph can
   * write their keys and values in place (pass the rows to `repack` as views of it, in order). The batch
   * then holds a burst's cross K/V once for its whole life, not also as the graph's output that its rows
   * and the encoder cache kept views of (48 MiB for 32 prompts of 64 tokens at flan-t5-small; what
   * onnxruntime-node hands back from the run is a copy, garbage at once). The kept rows move to the
   * front first, so the write cannot reach them. Undefined where the batch would be packed at another
   * stride (a kept row's prompt is longer) or the kept rows change order.
   */
  crossTargets(keep: number[], count: number, slots: number): Float32Array[] | undefined {
    const kept = keep.map((i) => this.rows[i]);
    if (!isIncreasing(keep) || kept.some((r) => r.cross.sourceLength > slots)) return undefined;
    const rowSize = this.heads * slots * this.headDim;
    this.placeCross(kept, slots, (keep.length + count) * rowSize);
    return this.crossStores.map((store) => store.subarray(keep.length * rowSize, (keep.length + count) * rowSize));
  }

  /** Writes the step's new keys and values ([B, H, 1, dk] per layer) at slot `length`. */
  append(newKV: ort.Tensor[]): void {
    if (this.length >= this.capacity) this.grow();
    const { heads, headDim: dk, capacity } = this;
    newKV.forEach((t, layer) => {
      const src = t.data as Float32Array;
      const dst = this.stores[layer];
      for (let bh = 0; bh < this.rows.length * heads; bh++) {
        dst.set(src.subarray(bh * dk, (bh + 1) * dk), (bh * capacity + this.length) * dk);
      }
    });
    this.length += 1;
  }

  /** Which slots each row may attend to, and their positions, for the coming step. */
  selfAttentionFeeds(): SelfAttentionFeeds {
    if (this.length >= this.capacity) this.grow();
    return selfAttentionFeeds(this.rows, this.length, this.capacity);
  }

  /** One decoder step over the cache, each row fed its last token; the new keys and values are written in. */
  async step(runner: T5Runner, inputIds: ort.Tensor, opts: { adapters?: AdapterFeeds; tally?: TransferTally; logits?: boolean | readonly number[] } = {}) {
    // The decoder writes logits into the runner's reused host buffer; a screened head skips them for greedy
    // rows. Asked for some rows' logits, the host fetches every row's: they are in host memory already.
    const wanted = typeof opts.logits === 'object' ? opts.logits.length > 0 : opts.logits;
    const { logits, greedyIds, newKV } = await runner.decodeStep(
      { inputIds, encoderAttentionMask: this.encoderMask, ...this.selfAttentionFeeds(), past: this.past, cross: this.cross, adapters: opts.adapters },
      { tally: opts.tally, logits: wanted },
    );
    this.append(newKV);
    return { logits: logits?.data as Float32Array | undefined, greedyIds };
  }

  clear(): void {
    this.repack([], []);
  }

  /**
   * One more chunk of slots, or the rest of the store's room where that ends sooner (the batch's rows
   * end there): in place when the store has room, else into a new store.
   */
  private grow(): void {
    const rows = this.rows.length;
    const room = this.stores.length ? Math.floor(this.stores[0].length / (rows * this.heads * this.headDim)) : 0;
    const capacity = room > this.length ? Math.min(capacityFor(this.length + 1), room) : capacityFor(this.length + 1);
    if (this.fits(rows, capacity)) {
      this.restride(rows, this.length, capacity);
    } else {
      const old = this.stores;
      const oldCapacity = this.capacity;
      this.stores = this.newStores(rows, Math.max(capacity, this.roomFor(this.length)));
      this.copyInto(old, oldCapacity, this.rows.map((_, i) => i), 0, this.length, capacity);
    }
    this.setViews(rows, capacity);
  }

  /**
   * The slots a new store makes room for at `length`: up to the longest row's end, exactly (its last
   * chunk cut short: 65 slots rather than 96 for 64 tokens after one step, 25 MiB less at batch 32),
   * but at most RESERVE_AHEAD slots ahead, since a row may stop long before its max_tokens and a reused
   * heap block is zeroed (touched) whole; never less than the chunk `length` is in.
   */
  private roomFor(length: number): number {
    return Math.max(capacityFor(length), Math.min(this.endSlot, length + 1 + RESERVE_AHEAD));
  }

  private fits(rows: number, capacity: number): boolean {
    return this.stores.length > 0 && this.stores[0].length >= rows * this.heads * capacity * this.headDim;
  }

  private newStores(rows: number, capacity: number): Float32Array[] {
    return Array.from({ length: 2 * this.layers }, () => new Float32Array(rows * this.heads * capacity * this.headDim));
  }

  /** `past`: views of the stores' first `batch` rows at `capacity` slots. */
  private setViews(batch: number, capacity: number): void {
    this.capacity = capacity;
    const size = batch * this.heads * capacity * this.headDim;
    this.past = this.stores.length
      ? this.stores.map((store) => new ort.Tensor('float32', store.subarray(0, size), [batch, this.heads, capacity, this.headDim]))
      : Array.from({ length: 2 * this.layers }, () => new ort.Tensor('float32', new Float32Array(0), [batch, this.heads, capacity, this.headDim]));
  }

  /**
   * Moves the kept rows' slots [from, from + length) to rows 0.. at slot 0, still at the old capacity.
   * `keep` rises, so every destination lies at or before its source and after every source already
   * moved: copying in ascending order (copyWithin is a memmove) never overwrites a source still to come.
   */
  private compact(keep: number[], from: number, length: number): void {
    if (from === 0 && keep.every((old, i) => old === i)) return;
    const { heads, headDim: dk, capacity } = this;
    for (const store of this.stores) {
      keep.forEach((oldRow, newRow) => {
        for (let h = 0; h < heads; h++) {
          const src = ((oldRow * heads + h) * capacity + from) * dk;
          store.copyWithin((newRow * heads + h) * capacity * dk, src, src + length * dk);
        }
      });
    }
  }

  /**
   * Re-lays `rows` rows' first `length` slots from the current capacity to `capacity`: a wider row
   * moves to a later place, so the rows go last to first; a narrower one first to last.
   */
  private restride(rows: number, length: number, capacity: number): void {
    const { heads, headDim: dk, capacity: old } = this;
    if (capacity === old || rows === 0) return;
    const order = Array.from({ length: rows * heads }, (_, i) => (capacity > old ? rows * heads - 1 - i : i));
    for (const store of this.stores) {
      for (const rh of order) store.copyWithin(rh * capacity * dk, rh * old * dk, (rh * old + length) * dk);
    }
  }

  /** Copies `length` slots from `from` onwards of the old rows `keep` into rows 0.. of the (new) stores at `capacity`. */
  private copyInto(old: Float32Array[], oldCapacity: number, keep: number[], from: number, length: number, capacity: number): void {
    const dk = this.headDim;
    old.forEach((src, t) => {
      const dst = this.stores[t];
      keep.forEach((oldRow, newRow) => {
        for (let h = 0; h < this.heads; h++) {
          const at = ((oldRow * this.heads + h) * oldCapacity + from) * dk;
          dst.set(src.subarray(at, at + length * dk), (newRow * this.heads + h) * capacity * dk);
        }
      });
    });
  }

  /** Packs the rows' cross K/V into the cross stores, reused while they are large enough. */
  private packCross(): void {
    const s = Math.max(0, ...this.rows.map((r) => r.cross.sourceLength));
    this.encoderMask = encoderMaskOf(this.rows.map((r) => r.cross.sourceLength));
    const size = this.rows.length * this.heads * s * this.headDim;
    if (this.rows.length) this.placeCross(this.rows, s, size);
    this.cross = this.crossStores.map((store) => new ort.Tensor('float32', store.subarray(0, size), [this.rows.length, this.heads, s, this.headDim]));
  }

  /**
   * Puts row b's cross K/V at place b of the cross stores, `slots` apart ([B, H, slots, dk]), and points
   * the row at its place there. A row may already live in the stores (placed before, or written in place
   * through crossTargets): rows keep their order and only move towards the front, so in place, copying
   * in ascending order (a memmove each) never overwrites a source still to come. Where that cannot hold
   * (a wider stride, rows reordered, stores too small) they are copied into new stores.
   */
  private placeCross(rows: CacheRow[], slots: number, size: number): void {
    const dk = this.headDim;
    const heads = this.heads;
    const stores = this.crossStores;
    // Where each row lives in the stores now (-1: elsewhere, a graph's output or the encoder cache).
    const places = rows.map((row) =>
      stores.length && row.cross.tensors[0].buffer === stores[0].buffer ? row.cross.tensors[0].byteOffset / 4 / (heads * row.cross.slots * dk) : -1,
    );
    const resident = rows.flatMap((row, b) => (places[b] < 0 ? [] : [{ b, place: places[b], slots: row.cross.slots }]));
    const inPlace =
      stores.length > 0 &&
      stores[0].length >= size &&
      resident.every((r, i) => r.place >= r.b && r.slots >= slots && (i === 0 || r.place > resident[i - 1].place));
    const into = inPlace ? stores : Array.from({ length: 2 * this.layers }, () => new Float32Array(size));
    rows.forEach((row, b) => {
      if (!(inPlace && places[b] === b && row.cross.slots === slots)) into.forEach((dst, t) => writeCrossRow(dst, row.cross, t, b, heads, dk, slots));
    });
    this.crossStores = into;
    const rowSize = heads * slots * dk;
    rows.forEach((row, b) => {
      row.cross = { tensors: into.map((store) => store.subarray(b * rowSize, (b + 1) * rowSize)), sourceLength: row.cross.sourceLength, slots };
    });
  }
}

/** Tensor t of a row's cross K/V (its prompt's slots) into row b of `into`, [B, H, slots, dk]. */
function writeCrossRow(into: Float32Array, cross: CrossKV, t: number, b: number, heads: number, headDim: number, slots: number): void {
  const src = cross.tensors[t];
  for (let h = 0; h < heads; h++) {
    const from = h * cross.slots * headDim;
    into.set(src.subarray(from, from + cross.sourceLength * headDim), (b * heads + h) * slots * headDim);
  }
}

/** [B, S] with 1 over each row's prompt, S the longest prompt. */
export function encoderMaskOf(sourceLengths: readonly number[]): ort.Tensor {
  const s = Math.max(0, ...sourceLengths);
  const mask = new BigInt64Array(sourceLengths.length * s);
  sourceLengths.forEach((length, b) => mask.fill(1n, b * s, b * s + length));
  return new ort.Tensor('int64', mask, [sourceLengths.length, s]);
}

/**
 * Which of `capacity` slots each row may attend to (its own, [joinSlot, length)), their positions, and
 * the position of the coming token.
 */
export function selfAttentionFeeds(rows: readonly { joinSlot: number }[], length: number, capacity: number): SelfAttentionFeeds {
  const c = capacity;
  const mask = new BigInt64Array(rows.length * c);
  const positions = new BigInt64Array(rows.length * c);
  const queries = new BigInt64Array(rows.length);
  rows.forEach((row, b) => {
    for (let s = row.joinSlot; s < length; s++) {
      mask[b * c + s] = 1n;
      positions[b * c + s] = BigInt(s - row.joinSlot);
    }
    queries[b] = BigInt(length - row.joinSlot);
  });
  const shape = [rows.length, c];
  return {
    pastMask: new ort.Tensor('int64', mask, shape),
    pastPositions: new ort.Tensor('int64', positions, shape),
    queryPositions: new ort.Tensor('int64', queries, [rows.length, 1]),
  };
}

/**
 * Room for `needed` slots rounded up to a whole chunk. Attention reads every slot, used or not, so the
 * capacity stays close to the length; growing a chunk at a time costs one copy per CHUNK steps.
 */
function capacityFor(needed: number): number {
  return Math.max(CHUNK, Math.ceil((needed + 1) / CHUNK) * CHUNK);
}

function isIncreasing(indices: readonly number[]): boolean {
  return indices.every((value, i) => i === 0 || value > indices[i - 1]);
}
