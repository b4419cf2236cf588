import { LRUCache } from 'lru-cache';
import { int64Feed } from '../onnx-session.ts';
import type { T5Runner } from '../t5-runner.ts';
import { AdapterSlots, BASE_ADAPTER } from './adapter-slots.ts';
import { BatchKVCache, sliceCrossRow, type CrossKV } from './batch-kv-cache.ts';
import { lengthBuckets } from './length-buckets.ts';

/** A sequence joining the batch: its prompt and the adapter it runs with (BASE_ADAPTER: none). */
export interface JoiningRow {
  promptIds: number[];
  adapter: string;
}

/** One decode step's output for the batch, in batch order. */
export interface StepOutput {
  /** [B, V] logits; the buffer is reused by the next step, so read it before stepping again. */
  logits: Float32Array;
  /** The argmax of each row, computed in the graph. */
  greedyIds: BigInt64Array;
}

/**
 * Runs a batch of sequences on one model: the encoder (with its cache of prompts' cross K/V), the
 * batch's KV cache and the decoder step. It owns every tensor the graphs read and write, so nothing
 * above it knows where they live; the scheduler only says who is in the batch and feeds token ids.
 */
export class DecodeRunner {
  private readonly cache: BatchKVCache;
  private readonly encoderCache: LRUCache<string, CrossKV>;
  /** Bytes one token of one sequence adds to the KV cache (self and cross attention). */
  readonly perTokenKvBytes: number;
  /** The adapters loaded over this base; absent when its graphs take none. */
  readonly adapters: AdapterSlots | undefined;
  /** Each cache row's adapter, in batch order. */
  private rowAdapters: string[] = [];

  constructor(
    readonly runner: T5Runner,
    encoderCacheBytes: number,
  ) {
    const c = runner.config;
    this.cache = new BatchKVCache(c.numDecoderLayers, c.numHeads, c.dKv);
    this.perTokenKvBytes = 2 * c.numDecoderLayers * c.numHeads * c.dKv * 4;
    this.adapters = runner.adapterTargets.length ? new AdapterSlots(c, runner.adapterTargets) : undefined;
    this.encoderCache = new LRUCache<string, CrossKV>({
      maxSize: Math.max(1, encoderCacheBytes),
      sizeCalculation: (entry) => Math.max(1, entry.tensors.reduce((s, t) => s + t.byteLength, 0)),
    });
  }

  get vocabSize(): number {
    return this.runner.config.vocabSize;
  }

  kvCacheBytes(): number {
    return this.cache.bytes();
  }

  /**
   * Changes the batch between steps: keeps the rows at `keep` (old indices, in their new order) and
   * appends one row per prompt of `joining`, whose encoder passes run as one padded batch whatever
   * their adapters (prompts seen before with the same adapter come from the encoder cache).
   */
  async repack(keep: number[], joining: JoiningRow[]): Promise<void> {
    const cross = joining.length ? await this.encode(joining) : [];
    this.cache.repack(keep, cross);
    this.rowAdapters = [...keep.map((i) => this.rowAdapters[i]), ...joining.map((row) => row.adapter)];
  }

  /** One decoder step for every row, each fed its last token. */
  async step(lastTokens: number[]): Promise<StepOutput> {
    const { logits, greedyIds, newKV } = await this.runner.decodeStep({
      inputIds: int64Feed(lastTokens.map((t) => [t])),
      encoderAttentionMask: this.cache.encoderMask,
      ...this.cache.selfAttentionFeeds(),
      past: this.cache.past,
      cross: this.cache.cross,
      adapters: this.adapters?.feeds(this.rowAdapters),
    });
    this.cache.append(newKV);
    return { logits: logits.data as Float32Array, greedyIds };
  }

  /** Drops every row (after a failed step the batch starts over empty). */
  clear(): void {
    this.cache.repack([], []);
    this.rowAdapters = [];
  }

  release(): Promise<void> {
    return this.runner.release();
  }

  /** Runs the encoder once per distinct uncached prompt and adapter (batched by length), returning each row's cross K/V. */
  private async encode(joining: JoiningRow[]): Promise<CrossKV[]> {
    const keyOf = (row: JoiningRow) => `${row.adapter}|${row.promptIds.join(',')}`;
    const found = new Map<string, CrossKV>();
    const missing = new Map<string, JoiningRow>();
    for (const row of joining) {
      const key = keyOf(row);
      const hit = this.encoderCache.get(key);
      if (hit) found.set(key, hit);
      else missing.set(key, row);
    }
    const keys = [...missing.keys()];
    const rows = [...missing.values()];
    // Prompts of similar length encode together, so a long one does not pad every short one to its size.
    for (const bucket of lengthBuckets(rows.map((r) => r.promptIds.length))) {
      const group = bucket.map((i) => rows[i]);
      const width = Math.max(...group.map((r) => r.promptIds.length));
      const ids = group.map((r) => [...r.promptIds, ...new Array<number>(width - r.promptIds.length).fill(0)]);
      const mask = group.map((r) => r.promptIds.map(() => 1).concat(new Array<number>(width - r.promptIds.length).fill(0)));
      const adapters = this.adapters?.feeds(group.map((r) => r.adapter));
      const states = await this.runner.encode(int64Feed(ids), int64Feed(mask), adapters);
      const cross = await this.runner.crossKeyValues(states, adapters);
      bucket.forEach((i, b) => {
        const row = sliceCrossRow(cross, b, rows[i].promptIds.length);
        found.set(keys[i], row);
        this.encoderCache.set(keys[i], row);
      });
    }
    return joining.map((row) => found.get(keyOf(row))!);
  }

  /** The adapters that rows of the batch use now. */
  adaptersInUse(): string[] {
    return this.rowAdapters.filter((id) => id !== BASE_ADAPTER);
  }
}
