import type { TransferTally } from '../device/transfer-tally.ts';
import { ort } from '../onnx-session.ts';
import type { AdapterFeeds, T5Runner } from '../t5-runner.ts';

/** Cross-attention keys and values of one prompt: per layer key then value, each [H, S, dk]. */
export interface CrossKV {
  tensors: Float32Array[];
  sourceLength: number;
}

/** Row b of batched cross K/V tensors [B, H, S, dk], cut to its prompt's real length. */
export function sliceCrossRow(cross: ort.Tensor[], b: number, length: number): CrossKV {
  const tensors = cross.map((t) => {
    const [, heads, source, dk] = t.dims;
    const data = t.data as Float32Array;
    const out = new Float32Array(heads * length * dk);
    for (let h = 0; h < heads; h++) {
      const from = (b * heads + h) * source * dk;
      out.set(data.subarray(from, from + length * dk), h * length * dk);
    }
    return out;
  });
  return { tensors, sourceLength: length };
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

const CHUNK = 32;

/**
 * The running batch's KV cache, owned here rather than passed through the runtime: self-attention
 * buffers [B, H, capacity, dk] that the decoder reads in place, into which each step's new keys and
 * values are written at the shared slot `length`. A row that joins mid-flight starts at the current
 * slot, with the slots before it masked out, so rows at different lengths share one buffer. Copies
 * happen only when membership changes (repack) or the capacity grows by a chunk, never on a plain step.
 */
export class BatchKVCache {
  rows: CacheRow[] = [];
  /** Slots in use: every row's keys live in [joinSlot, length). */
  length = 0;
  capacity = 0;
  past: ort.Tensor[] = [];
  cross: ort.Tensor[] = [];
  encoderMask: ort.Tensor = new ort.Tensor('int64', new BigInt64Array(0), [0, 0]);
  private buffers: Float32Array[] = [];

  constructor(
    private readonly layers: number,
    private readonly heads: number,
    private readonly headDim: number,
  ) {
    this.allocate(0, 0);
  }

  /** Bytes held by the batch's self- and cross-attention caches. */
  bytes(): number {
    return [...this.buffers, ...this.cross.map((t) => t.data as Float32Array)].reduce((sum, d) => sum + d.byteLength, 0);
  }

  /**
   * Keeps the rows at `keep` (old indices, in their new order) and appends `joining` rows, dropping the
   * leading slots no remaining row uses.
   */
  repack(keep: number[], joining: CrossKV[]): void {
    const kept = keep.map((i) => this.rows[i]);
    const trim = kept.length ? Math.min(...kept.map((r) => r.joinSlot)) : this.length;
    const newLength = this.length - trim;
    const oldBuffers = this.buffers;
    const oldCapacity = this.capacity;
    this.rows = [
      ...kept.map((r) => ({ cross: r.cross, joinSlot: r.joinSlot - trim })),
      ...joining.map((cross) => ({ cross, joinSlot: newLength })),
    ];
    this.allocate(this.rows.length, capacityFor(newLength));
    this.copyRows(oldBuffers, oldCapacity, keep, trim, newLength);
    this.length = newLength;
    this.packCross();
  }

  /** Writes the step's new keys and values ([B, H, 1, dk] per layer) at slot `length`. */
  append(newKV: ort.Tensor[]): void {
    if (this.length >= this.capacity) this.grow();
    const { heads, headDim: dk, capacity } = this;
    newKV.forEach((t, layer) => {
      const src = t.data as Float32Array;
      const dst = this.buffers[layer];
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
  async step(runner: T5Runner, inputIds: ort.Tensor, opts: { adapters?: AdapterFeeds; tally?: TransferTally } = {}) {
    // Logits are always read here: the decoder writes them into the runner's reused host buffer.
    const { logits, greedyIds, newKV } = await runner.decodeStep(
      { inputIds, encoderAttentionMask: this.encoderMask, ...this.selfAttentionFeeds(), past: this.past, cross: this.cross, adapters: opts.adapters },
      { tally: opts.tally },
    );
    this.append(newKV);
    return { logits: logits.data as Float32Array, greedyIds };
  }

  clear(): void {
    this.repack([], []);
  }

  private grow(): void {
    const oldBuffers = this.buffers;
    const oldCapacity = this.capacity;
    this.allocate(this.rows.length, capacityFor(this.length + 1));
    this.copyRows(oldBuffers, oldCapacity, this.rows.map((_, i) => i), 0, this.length);
  }

  private allocate(batch: number, capacity: number): void {
    this.capacity = capacity;
    const shape = [batch, this.heads, capacity, this.headDim];
    this.buffers = Array.from({ length: 2 * this.layers }, () => new Float32Array(batch * this.heads * capacity * this.headDim));
    this.past = this.buffers.map((data) => new ort.Tensor('float32', data, shape));
  }

  /** Copies `length` slots from `from` onwards of the old rows `keep` into rows 0.. of the new buffers. */
  private copyRows(old: Float32Array[], oldCapacity: number, keep: number[], from: number, length: number): void {
    const dk = this.headDim;
    old.forEach((src, t) => {
      const dst = this.buffers[t];
      keep.forEach((oldRow, newRow) => {
        for (let h = 0; h < this.heads; h++) {
          const at = ((oldRow * this.heads + h) * oldCapacity + from) * dk;
          dst.set(src.subarray(at, at + length * dk), (newRow * this.heads + h) * this.capacity * dk);
        }
      });
    });
  }

  private packCross(): void {
    const crosses = this.rows.map((r) => r.cross);
    this.encoderMask = encoderMaskOf(crosses.map((c) => c.sourceLength));
    this.cross = packCrossRows(crosses, this.heads, this.headDim);
  }
}

/** Each row's prompt keys/values, per layer key then value, padded to the longest prompt: [B, H, S, dk]. */
export function packCrossRows(crosses: readonly CrossKV[], heads: number, headDim: number): ort.Tensor[] {
  const batch = crosses.length;
  const s = Math.max(0, ...crosses.map((c) => c.sourceLength));
  const count = crosses[0]?.tensors.length ?? 0;
  return Array.from({ length: count }, (_, t) => {
    const data = new Float32Array(batch * heads * s * headDim);
    crosses.forEach((cross, b) => {
      const src = cross.tensors[t];
      const rowLength = cross.sourceLength * headDim;
      for (let h = 0; h < heads; h++) data.set(src.subarray(h * rowLength, (h + 1) * rowLength), (b * heads + h) * s * headDim);
    });
    return new ort.Tensor('float32', data, [batch, heads, s, headDim]);
  });
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
