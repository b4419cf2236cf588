import { LRUCache } from 'lru-cache';
import { keepsTensorsOnDevice } from '../device/device-config.ts';
import { ResidentTensors } from '../device/resident-tensors.ts';
import { TransferTally } from '../device/transfer-tally.ts';
import { int64Feed, type ort } from '../onnx-session.ts';
import type { AdapterFeeds, T5Runner } from '../t5-runner.ts';
import { AdapterSlots, BASE_ADAPTER } from './adapter-slots.ts';
import { BatchKVCache, sliceCrossRow, type CrossKV } from './batch-kv-cache.ts';
import { DeviceKVCache, disposeAll, type DeviceCrossRow } from './device-kv-cache.ts';
import { lengthBuckets } from './length-buckets.ts';

/**
 * The most padded prompt tokens one encoder pass takes. onnxruntime-node hands back a fresh copy even of
 * outputs written into the buffers given to it, so a group's cross K/V existed twice while it joined
 * (~50 MiB for 31 prompts of 64 tokens at flan-t5-small): the server's peak came right there. In passes,
 * each pass's copy is freed before the next pass runs (collectDeadOutputs), and 512-row matrices keep
 * the encoder's GEMMs as fast per token. In-process, 32 concurrent requests of 64 + 64 tokens, three
 * bursts, one pass and passes alternating: peak RSS 700-708 vs 633-659 MiB, peak ArrayBuffer bytes 279 vs 239.
 */
const ENCODER_TOKENS_PER_PASS = 512;

/** [from, to) row ranges of `rows` prompts padded to `width`, each within ENCODER_TOKENS_PER_PASS (at least one row). */
function encoderPasses(rows: number, width: number): [number, number][] {
  const per = Math.max(1, Math.floor(ENCODER_TOKENS_PER_PASS / Math.max(1, width)));
  return Array.from({ length: Math.ceil(rows / per) }, (_, k) => [k * per, Math.min(rows, (k + 1) * per)]);
}

/**
 * The encoder passes of `rows`: prompts of similar length together, so a long one does not pad every
 * short one to its size, each pass within ENCODER_TOKENS_PER_PASS. `joiningOrder`: a pass's rows in
 * their order in `rows` rather than by length.
 */
function encoderPassesOf(rows: readonly JoiningRow[], { joiningOrder = false } = {}): { rows: number[]; bucket: number }[] {
  return lengthBuckets(rows.map((r) => r.promptIds.length)).flatMap((lengthBucket, bucket) => {
    const width = Math.max(...lengthBucket.map((i) => rows[i].promptIds.length));
    const ordered = joiningOrder ? [...lengthBucket].sort((a, b) => a - b) : lengthBucket;
    return encoderPasses(ordered.length, width).map(([from, to]) => ({ rows: ordered.slice(from, to), bucket }));
  });
}

/** Rows with the same key share one encoder pass's cross K/V. */
const keyOf = (row: JoiningRow) => `${row.adapter}|${row.promptIds.join(',')}`;

/** A sequence joining the batch: its prompt and the adapter it runs with (BASE_ADAPTER: none). */
export interface JoiningRow {
  promptIds: number[];
  adapter: string;
}

/** One decode step's output for the batch, in batch order. */
export interface StepOutput {
  /**
   * [B, V] logits, or [R, V] for the rows of `logitRows`. Absent when the step was told no row needs them
   * (on the CPU they are not fetched, on a device they stay there, and a screened head never computes them).
   */
  logits: Float32Array | undefined;
  /**
   * The rows whose logits `logits` holds, in its order, where the step read back only those asked for
   * (on a device: a sampled row among greedy ones costs its own row, not the batch's). Absent: every row.
   */
  logitRows?: readonly number[];
  /** The argmax of each row, computed in the graph. */
  greedyIds: BigInt64Array;
}

/** Bytes copied host<->device by the runner (zero on the CPU device): per decode step, and when the batch changes. */
export interface TransferStats {
  steps: number;
  /** Summed over every decode step. */
  stepToDeviceBytes: number;
  stepToHostBytes: number;
  lastStepToDeviceBytes: number;
  lastStepToHostBytes: number;
  /** Encoder passes and cache rearrangements when rows join or leave, summed. */
  repackToDeviceBytes: number;
  repackToHostBytes: number;
}

/**
 * Runs a batch of sequences on one model: the encoder (with its cache of prompts' cross K/V), the
 * batch's KV cache and the decoder step. It owns every tensor the graphs read and write, so nothing
 * above it knows where they live; the scheduler only says who is in the batch and feeds token ids.
 */
export class DecodeRunner {
  /** The batch's KV cache: on the host, or on the device (their repacks differ in what joining rows bring). */
  private readonly cache: BatchKVCache | DeviceKVCache;
  private readonly stepTally = new TransferTally();
  private lastStepTally = new TransferTally();
  private readonly repackTally = new TransferTally();
  private steps = 0;
  private readonly encoderCache: LRUCache<string, CrossKV>;
  /** Bytes one token of one sequence adds to the KV cache (self and cross attention). */
  readonly perTokenKvBytes: number;
  /** The adapters loaded over this base; absent when its graphs take none. */
  readonly adapters: AdapterSlots | undefined;
  /** Each cache row's adapter, in batch order. */
  private rowAdapters: string[] = [];
  /** With the cache on the device: the adapters' factors, kept there too. */
  private readonly residentFactors: ResidentTensors | undefined;

  /**
   * `cacheOnDevice`: keep the KV cache and cross K/V on the device between steps; by default wherever
   * the device can (WebGPU). Off there, every step copies them across: the comparison the bench draws.
   */
  constructor(
    readonly runner: T5Runner,
    encoderCacheBytes: number,
    opts: { cacheOnDevice?: boolean } = {},
  ) {
    const c = runner.config;
    const onDevice = opts.cacheOnDevice ?? keepsTensorsOnDevice(runner.device);
    const helpers = { device: runner.device, threads: 1 };
    this.cache = onDevice ? new DeviceKVCache(c.numDecoderLayers, c.numHeads, c.dKv, helpers) : new BatchKVCache(c.numDecoderLayers, c.numHeads, c.dKv);
    this.perTokenKvBytes = 2 * c.numDecoderLayers * c.numHeads * c.dKv * 4;
    this.adapters = runner.adapterTargets.length ? new AdapterSlots(c, runner.adapterTargets, runner.device) : undefined;
    this.residentFactors = onDevice && this.adapters ? new ResidentTensors(helpers) : undefined;
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

  transferStats(): TransferStats {
    return {
      steps: this.steps,
      stepToDeviceBytes: this.stepTally.toDevice,
      stepToHostBytes: this.stepTally.toHost,
      lastStepToDeviceBytes: this.lastStepTally.toDevice,
      lastStepToHostBytes: this.lastStepTally.toHost,
      repackToDeviceBytes: this.repackTally.toDevice,
      repackToHostBytes: this.repackTally.toHost,
    };
  }

  /**
   * Changes the batch between steps: keeps the rows at `keep` (old indices, in their new order) and
   * appends one row per prompt of `joining`, whose encoder passes run as one padded batch whatever
   * their adapters (prompts seen before with the same adapter come from the encoder cache).
   * `reserveTokens`: the most tokens any row of the new batch may still add (the cache takes room for them).
   */
  async repack(keep: number[], joining: JoiningRow[], reserveTokens = 0): Promise<void> {
    if (this.cache instanceof DeviceKVCache) await this.repackOnDevice(this.cache, keep, joining);
    else await this.cache.repack(keep, joining.length ? await this.encode(this.cache, joining, keep) : [], { tally: this.repackTally, reserveTokens });
    this.rowAdapters = [...keep.map((i) => this.rowAdapters[i]), ...joining.map((row) => row.adapter)];
  }

  /**
   * One decoder step for every row, each fed its last token. `logits`: whether the rows' logits are
   * needed, or which rows' (those that sample or report logprobs). `false` (every row greedy, no
   * logprobs) lets a device-resident step leave them on the device, and a list reads back those rows
   * alone there; the host cache fetches every row's whenever any is needed.
   */
  async step(lastTokens: number[], opts: { logits: boolean | readonly number[] } = { logits: true }): Promise<StepOutput> {
    const tally = new TransferTally();
    const inputIds = int64Feed(lastTokens.map((t) => [t]));
    const adapters = await this.adapterFeeds(this.rowAdapters, tally);
    const out = await this.cache.step(this.runner, inputIds, { adapters, tally, logits: opts.logits });
    this.steps += 1;
    this.stepTally.add(tally);
    this.lastStepTally = tally;
    return out;
  }

  /** Drops every row (after a failed step the batch starts over empty). */
  clear(): void {
    this.cache.clear();
    this.rowAdapters = [];
  }

  async release(): Promise<void> {
    if (this.cache instanceof DeviceKVCache) await this.cache.release();
    await this.residentFactors?.release();
    await this.runner.release();
  }

  /**
   * Runs the encoder once per distinct uncached prompt and adapter (batched by length), returning each
   * row's cross K/V. Several new prompts that encode as one group are written straight into the batch's
   * packed cross K/V where the cache has room for them there; those rows are not kept in the encoder
   * cache (the batch rearranges that memory), a lone prompt is.
   */
  private async encode(cache: BatchKVCache, joining: JoiningRow[], keep: number[]): Promise<CrossKV[]> {
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
    const passes = encoderPassesOf(rows);
    // Several new prompts of one length bucket: written straight into the batch's cross K/V.
    if (rows.length > 1 && rows.length === joining.length && passes.every((pass) => pass.bucket === 0)) {
      const slots = Math.max(...rows.map((r) => r.promptIds.length));
      const targets = cache.crossTargets(keep, rows.length, slots);
      if (targets) {
        const size = targets[0].length / rows.length;
        const rowsOf = (t: Float32Array, from: number, to: number) => t.subarray(from * size, to * size);
        for (const [from, to] of encoderPasses(rows.length, slots)) {
          await this.encodeGroup(rows.slice(from, to), { into: targets.map((t) => rowsOf(t, from, to)) });
        }
        return rows.map((r, b) => ({ tensors: targets.map((t) => rowsOf(t, b, b + 1)), sourceLength: r.promptIds.length, slots }));
      }
    }
    for (const { rows: pass } of passes) {
      const cross = await this.encodeGroup(pass.map((i) => rows[i]));
      pass.forEach((i, b) => {
        const row = sliceCrossRow(cross, b, rows[i].promptIds.length);
        found.set(keys[i], row);
        this.encoderCache.set(keys[i], row);
      });
    }
    return joining.map((row) => found.get(keyOf(row))!);
  }

  /**
   * The device's repack: each distinct prompt and adapter of `joining` encoded once, its cross K/V left on
   * the device for the cache to take, then freed. The encoder cache is not filled there: that took every
   * arrival's cross K/V back to the host and over again (54.5 MB back, 50.3 MB over for 32 prompts of 64
   * tokens at flan-t5-small's shape), where a repeated prompt costs one more encoder pass on the device.
   */
  private async repackOnDevice(cache: DeviceKVCache, keep: number[], joining: JoiningRow[]): Promise<void> {
    const distinct = new Map(joining.map((row) => [keyOf(row), row]));
    const rows = [...distinct.values()];
    const found = new Map<string, DeviceCrossRow>();
    const outputs: ort.Tensor[][] = [];
    try {
      // Each pass's rows in their joining order, so that a burst's passes usually follow on as they are.
      for (const pass of encoderPassesOf(rows, { joiningOrder: true })) {
        const tensors = await this.encodeGroup(pass.rows.map((i) => rows[i]), { onDevice: true });
        outputs.push(tensors);
        pass.rows.forEach((i, b) => found.set(keyOf(rows[i]), { pass: tensors, row: b, sourceLength: rows[i].promptIds.length }));
      }
      await cache.repack(keep, joining.map((row) => found.get(keyOf(row))!), { tally: this.repackTally });
    } finally {
      for (const tensors of outputs) disposeAll(tensors);
    }
  }

  /**
   * One padded encoder pass and its cross K/V ([B, H, S, dk] per layer key then value): on the host,
   * written `into` those arrays where given, or left on the device (the encoder's states too, until the
   * cross graph has read them).
   */
  private async encodeGroup(group: JoiningRow[], where: { into?: Float32Array[]; onDevice?: boolean } = {}): Promise<ort.Tensor[]> {
    const width = Math.max(...group.map((r) => r.promptIds.length));
    const ids = group.map((r) => [...r.promptIds, ...new Array<number>(width - r.promptIds.length).fill(0)]);
    const mask = group.map((r) => r.promptIds.map(() => 1).concat(new Array<number>(width - r.promptIds.length).fill(0)));
    const adapters = await this.adapterFeeds(group.map((r) => r.adapter), this.repackTally);
    if (where.onDevice) {
      const states = await this.runner.encodeOnDevice(int64Feed(ids), int64Feed(mask), adapters, this.repackTally);
      try {
        return await this.runner.crossKeyValuesOnDevice(states, adapters, this.repackTally);
      } finally {
        states.dispose();
      }
    }
    const states = await this.runner.encode(int64Feed(ids), int64Feed(mask), adapters, this.repackTally);
    return this.runner.crossKeyValues(states, adapters, this.repackTally, where.into);
  }

  /**
   * The rows' adapter feeds; with the cache on the device, the factors are fed from there (uploaded when
   * the stacks change), and copies of stacks since replaced are freed: the run that was fed them is over.
   */
  private async adapterFeeds(rowAdapters: readonly string[], tally: TransferTally): Promise<AdapterFeeds | undefined> {
    const feeds = this.adapters?.feeds(rowAdapters);
    if (!feeds || !this.residentFactors) return feeds;
    this.residentFactors.keepOnly(this.adapters!.factorTensors());
    return this.residentFactors.of(feeds, tally);
  }

  /** The adapters that rows of the batch use now. */
  adaptersInUse(): string[] {
    return this.rowAdapters.filter((id) => id !== BASE_ADAPTER);
  }
}
