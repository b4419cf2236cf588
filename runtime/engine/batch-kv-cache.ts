import { ort } from '../onnx-session.ts';

/** Cross-attention keys and values of one prompt: per layer key then value, each [H, S, dk]. */
export interface CrossKV {
  tensors: Float32Array[];
  sourceLength: number;
}

export interface CacheRow {
  cross: CrossKV;
  /** The cache slot where this row's first decoder token sits; slots before it are not its own. */
  joinSlot: number;
}

/**
 * The running batch's KV state as decoder feeds. Self-attention keys and values grow one slot per
 * step for every row at once; a row that joins mid-flight starts at the current slot, with the slots
 * before it masked out, so rows at different lengths share one tensor. When rows leave, the batch is
 * repacked and the leading slots that no remaining row uses are dropped.
 */
export class BatchKVCache {
  rows: CacheRow[] = [];
  past: ort.Tensor[];
  pastLength = 0;
  cross: ort.Tensor[] = [];
  encoderMask: ort.Tensor;
  private sourceLength = 0;

  constructor(
    private readonly layers: number,
    private readonly heads: number,
    private readonly headDim: number,
  ) {
    this.past = this.emptyTensors(0, 0);
    this.encoderMask = new ort.Tensor('int64', new BigInt64Array(0), [0, 0]);
  }

  get size(): number {
    return this.rows.length;
  }

  /** Bytes held by the batch's self- and cross-attention caches. */
  bytes(): number {
    return [...this.past, ...this.cross].reduce((sum, t) => sum + (t.data as Float32Array).byteLength, 0);
  }

  /**
   * Keeps the rows at `keep` (old indices, in their new order) and appends `joining` rows. Copies the
   * cache once; called only when membership changes, never on a plain step.
   */
  repack(keep: number[], joining: CrossKV[]): void {
    const kept = keep.map((i) => this.rows[i]);
    const trim = kept.length ? Math.min(...kept.map((r) => r.joinSlot)) : this.pastLength;
    const newLength = this.pastLength - trim;
    const rows: CacheRow[] = [
      ...kept.map((r) => ({ cross: r.cross, joinSlot: r.joinSlot - trim })),
      ...joining.map((cross) => ({ cross, joinSlot: newLength })),
    ];
    this.past = this.past.map((old) => {
      const data = new Float32Array(rows.length * this.heads * newLength * this.headDim);
      const oldData = old.data as Float32Array;
      const slot = this.headDim;
      kept.forEach((_, newRow) => {
        const oldRow = keep[newRow];
        for (let h = 0; h < this.heads; h++) {
          const from = ((oldRow * this.heads + h) * this.pastLength + trim) * slot;
          const to = (newRow * this.heads + h) * newLength * slot;
          data.set(oldData.subarray(from, from + newLength * slot), to);
        }
      });
      return new ort.Tensor('float32', data, [rows.length, this.heads, newLength, this.headDim]);
    });
    this.rows = rows;
    this.pastLength = newLength;
    this.packCross();
  }

  /** The decoder's present tensors become the next step's past. */
  advance(present: ort.Tensor[]): void {
    this.past = present;
    this.pastLength += 1;
  }

  /** Validity [B, P+1] and positions [B, P+1] of every key slot for the coming step. */
  selfAttentionFeeds(): { mask: ort.Tensor; keyPositions: ort.Tensor; queryPositions: ort.Tensor } {
    const total = this.pastLength + 1;
    const mask = new BigInt64Array(this.rows.length * total);
    const keys = new BigInt64Array(this.rows.length * total);
    const queries = new BigInt64Array(this.rows.length);
    this.rows.forEach((row, b) => {
      for (let s = row.joinSlot; s < total; s++) {
        mask[b * total + s] = 1n;
        keys[b * total + s] = BigInt(s - row.joinSlot);
      }
      queries[b] = BigInt(this.pastLength - row.joinSlot);
    });
    const shape = [this.rows.length, total];
    return {
      mask: new ort.Tensor('int64', mask, shape),
      keyPositions: new ort.Tensor('int64', keys, shape),
      queryPositions: new ort.Tensor('int64', queries, [this.rows.length, 1]),
    };
  }

  /** Pads every row's prompt keys/values to the longest prompt in the batch. */
  private packCross(): void {
    const batch = this.rows.length;
    this.sourceLength = Math.max(0, ...this.rows.map((r) => r.cross.sourceLength));
    const s = this.sourceLength;
    const mask = new BigInt64Array(batch * s);
    this.rows.forEach((row, b) => mask.fill(1n, b * s, b * s + row.cross.sourceLength));
    this.encoderMask = new ort.Tensor('int64', mask, [batch, s]);
    this.cross = Array.from({ length: 2 * this.layers }, (_, t) => {
      const data = new Float32Array(batch * this.heads * s * this.headDim);
      this.rows.forEach((row, b) => {
        const src = row.cross.tensors[t];
        const rowLength = row.cross.sourceLength * this.headDim;
        for (let h = 0; h < this.heads; h++) {
          data.set(src.subarray(h * rowLength, (h + 1) * rowLength), (b * this.heads + h) * s * this.headDim);
        }
      });
      return new ort.Tensor('float32', data, [batch, this.heads, s, this.headDim]);
    });
  }

  private emptyTensors(batch: number, length: number): ort.Tensor[] {
    return Array.from(
      { length: 2 * this.layers },
      () => new ort.Tensor('float32', new Float32Array(0), [batch, this.heads, length, this.headDim]),
    );
  }
}
