import type { SessionConfig } from '../device/device-config.ts';
import { assertFeedsFitDevice } from '../device/feed-guard.ts';
import { nativeCall } from '../device/native-calls.ts';
import { SmallGraphSessions } from '../device/small-graph-sessions.ts';
import type { TransferTally } from '../device/transfer-tally.ts';
import { buildCacheRowsGraph, cacheRowsNames as names, type CacheRowsParts } from '../graph/cache-rows-graph.ts';
import { ort } from '../onnx-session.ts';
import type { AdapterFeeds, T5Runner } from '../t5-runner.ts';
import { encoderMaskOf, selfAttentionFeeds, type CacheRepackOptions } from './batch-kv-cache.ts';

/** A joining row's cross K/V as its encoder pass left them on the device: row `row` of `pass`'s tensors. */
export interface DeviceCrossRow {
  /** Per layer key then value, [rows of the pass, H, S, dk]. */
  pass: readonly ort.Tensor[];
  row: number;
  sourceLength: number;
}

interface DeviceRow {
  sourceLength: number;
  /** The cache slot where this row's first decoder token sits; slots before it are not its own. */
  joinSlot: number;
}

/**
 * The running batch's self-attention cache and cross K/V kept on the device (WebGPU) from step to step:
 * the decoder hands back its grown cache (present, [B, H, length + 1, dk]) as a device tensor that the
 * next step takes as its past, so per step only token ids, masks and (when sampling needs them) logits
 * cross the bus. Rows joining or leaving are gathered, trimmed and padded on the device by the
 * cache-rows graph, and joining rows' cross K/V are taken from their encoder passes' outputs there:
 * the cache never goes through the host. Every device tensor replaced is disposed, so device memory
 * follows the batch.
 */
export class DeviceKVCache {
  private rows: DeviceRow[] = [];
  /** Slots in the device tensors; row b's keys live in [joinSlot, length). At least 1 while rows exist. */
  private length = 0;
  private past: ort.Tensor[] = [];
  private cross: ort.Tensor[] = [];
  private encoderMask = encoderMaskOf([]);
  private readonly sessions: SmallGraphSessions;

  constructor(
    private readonly layers: number,
    private readonly heads: number,
    private readonly headDim: number,
    private readonly session: SessionConfig,
  ) {
    this.sessions = new SmallGraphSessions(session);
  }

  /** Device bytes held by the batch's self- and cross-attention tensors. */
  bytes(): number {
    return [...new Set([...this.past, ...this.cross])].reduce((sum, t) => sum + 4 * t.dims.reduce((a, b) => a * b, 1), 0);
  }

  /**
   * Keeps the rows at `keep` (old indices, in their new order) and appends `joining` rows, dropping the
   * leading slots no remaining row uses (one slot always stays: a zero-sized past would crash the GPU
   * provider; a fresh batch's is masked out). The device tensors are sized to the batch each time, so
   * `reserveTokens` is not read.
   */
  async repack(keep: number[], joining: readonly DeviceCrossRow[], { tally }: CacheRepackOptions = {}): Promise<void> {
    const kept = keep.map((i) => this.rows[i]);
    if (kept.length + joining.length === 0) return this.clear();
    const trim = kept.length ? Math.min(...kept.map((r) => r.joinSlot), this.length - 1) : 0;
    const length = kept.length ? this.length - trim : 1;
    const layerTensors = 2 * this.layers;
    const past = kept.length
      ? await this.rowsOnDevice({ kept: true, joining: false }, layerTensors, { keep, from: trim, slots: length, blank: joining.length, old: this.past }, tally)
      : // A fresh batch: one zero slot per row, shared by every layer's key and value.
        new Array<ort.Tensor>(layerTensors).fill(await this.zeroSlot(joining.length, tally));
    const crossSlots = Math.max(...kept.map((r) => r.sourceLength), ...joining.map((c) => c.sourceLength));
    const cross = await this.crossRows(keep, joining, crossSlots, tally).catch((err: unknown) => {
      // The batch stays as it was (the scheduler clears it after a failure); what was made for it goes.
      disposeAll(past);
      throw err;
    });
    this.dispose();
    this.past = past;
    this.cross = cross;
    this.length = length;
    this.rows = [
      ...kept.map((r) => ({ sourceLength: r.sourceLength, joinSlot: r.joinSlot - trim })),
      ...joining.map((c) => ({ sourceLength: c.sourceLength, joinSlot: length })),
    ];
    this.encoderMask = encoderMaskOf(this.rows.map((r) => r.sourceLength));
  }

  /**
   * One decoder step over the cache; its grown cache replaces the old one on the device. `logits`: every
   * row's read back, none, or those of the rows listed (`logitRows` of the result says which).
   */
  async step(runner: T5Runner, inputIds: ort.Tensor, opts: { adapters?: AdapterFeeds; tally?: TransferTally; logits: boolean | readonly number[] }) {
    const every = opts.logits === true || (opts.logits !== false && opts.logits.length === this.rows.length);
    const { logits, greedyIds, present } = await runner.decodeStepOnDevice(
      {
        inputIds,
        encoderAttentionMask: this.encoderMask,
        ...selfAttentionFeeds(this.rows, this.length, this.length),
        past: this.past,
        cross: this.cross,
        adapters: opts.adapters,
      },
      { logits: every || opts.logits, tally: opts.tally },
    );
    disposeAll(this.past);
    this.past = present;
    this.length += 1;
    const logitRows = every || opts.logits === false ? undefined : opts.logits;
    return { logits: logits?.data as Float32Array | undefined, greedyIds, logitRows };
  }

  /** Drops every row and frees their device tensors. */
  clear(): void {
    this.dispose();
    this.rows = [];
    this.length = 0;
    this.encoderMask = encoderMaskOf([]);
  }

  release(): Promise<void> {
    this.clear();
    return this.sessions.release();
  }

  private dispose(): void {
    disposeAll([...this.past, ...this.cross]);
    this.past = [];
    this.cross = [];
  }

  /**
   * The new batch's cross K/V, [B, H, slots, dk] per tensor: the kept rows', then the joining rows' from
   * their passes' outputs. The passes go on after the kept rows one run each (Concat); where the joining
   * rows are not their passes' rows in order (a prompt on several rows, length buckets interleaved), one
   * more run picks them from the whole (Gather). The passes' tensors stay the caller's.
   */
  private async crossRows(keep: number[], joining: readonly DeviceCrossRow[], slots: number, tally?: TransferTally): Promise<ort.Tensor[]> {
    const count = 2 * this.layers;
    const passes = [...new Set(joining.map((r) => r.pass))];
    if (!passes.length) return this.rowsOnDevice({ kept: true, joining: false }, count, { keep, from: 0, slots, blank: 0, old: this.cross }, tally);
    /** Where each pass's first row lands after the kept rows and the passes before it. */
    const offsets = new Map<readonly ort.Tensor[], number>();
    let rows = keep.length;
    for (const pass of passes) {
      offsets.set(pass, rows);
      rows += pass[0].dims[0];
    }
    let all: ort.Tensor[] | undefined;
    try {
      for (const pass of passes) {
        const before = all;
        const kept = before ? { keep: indices(before[0].dims[0]), old: before } : { keep, old: this.cross };
        all = await this.rowsOnDevice({ kept: kept.keep.length > 0, joining: true }, count, { ...kept, from: 0, slots, blank: 0, joining: [...pass] }, tally);
        if (before) disposeAll(before);
      }
      const order = [...indices(keep.length), ...joining.map((r) => offsets.get(r.pass)! + r.row)];
      if (order.length === rows && order.every((at, b) => at === b)) return all!;
      const picked = await this.rowsOnDevice({ kept: true, joining: false }, count, { keep: order, from: 0, slots, blank: 0, old: all! }, tally);
      disposeAll(all!);
      return picked;
    } catch (err) {
      if (all) disposeAll(all);
      throw err;
    }
  }

  /** [rows, H, 1, dk] zeros on the device: the masked slot a fresh batch starts from. */
  private async zeroSlot(rows: number, tally?: TransferTally): Promise<ort.Tensor> {
    const zeros = new ort.Tensor('float32', new Float32Array(rows * this.heads * this.headDim), [rows, this.heads, 1, this.headDim]);
    const [slot] = await this.rowsOnDevice({ kept: false, joining: true }, 1, { keep: [], from: 0, slots: 1, blank: 0, old: [], joining: [zeros] }, tally);
    return slot;
  }

  /** Runs the cache-rows graph over `count` tensors; its outputs stay on the device. */
  private async rowsOnDevice(
    parts: CacheRowsParts,
    count: number,
    args: { keep: number[]; from: number; slots: number; blank: number; old: ort.Tensor[]; joining?: ort.Tensor[] },
    tally?: TransferTally,
  ): Promise<ort.Tensor[]> {
    const scalar = (v: number) => new ort.Tensor('int64', BigInt64Array.of(BigInt(v)), [1]);
    const feeds: Record<string, ort.Tensor> = { [names.slotFrom]: scalar(args.from), [names.slots]: scalar(args.slots), [names.blankRows]: scalar(args.blank) };
    if (parts.kept) feeds[names.keptRows] = new ort.Tensor('int64', BigInt64Array.from(args.keep.map(BigInt)), [args.keep.length]);
    for (let i = 0; i < count; i++) {
      if (parts.kept) feeds[names.cache(i)] = args.old[i];
      if (parts.joining) feeds[names.joining(i)] = args.joining![i];
    }
    assertFeedsFitDevice(this.session.device, feeds);
    const outputs = Array.from({ length: count }, (_, i) => names.output(i));
    const session = await this.sessions.get(`${parts.kept}/${parts.joining}/${count}`, () => buildCacheRowsGraph(count, parts), outputs);
    const out = await nativeCall(() => session.run(feeds));
    tally?.count(this.session.device, feeds, out);
    return Array.from({ length: count }, (_, i) => out[names.output(i)] as ort.Tensor);
  }
}

const indices = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Frees device tensors; one tensor may stand for several layers (a fresh batch's zero slot), so each is freed once. */
export function disposeAll(tensors: readonly ort.Tensor[]): void {
  for (const t of new Set(tensors)) t.dispose();
}
