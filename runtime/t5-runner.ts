import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { T5Config } from './checkpoint/t5-config.ts';
import type { T5Weights } from './checkpoint/t5-weights.ts';
import type { Graph } from './graph/ir.ts';
import { initializerBytes } from './graph/ir.ts';
import { serializeModel } from './graph/onnx-serialize.ts';
import { toFloat16Compute } from './graph/float16-graph.ts';
import { contribOpsets, FULL_WEIGHT_LEVELS, quantizeGraphWeights, type WeightLevels } from './graph/quantize-weights.ts';
import { buildCrossKVGraph, buildDecoderStepGraph, buildEncoderGraph, buildLmHeadGraph, decoderNames } from './graph/t5-graphs.ts';
import { lmHeadWeightName } from './graph/t5-layers.ts';
import { AdapterSlots, BASE_ADAPTER } from './engine/adapter-slots.ts';
import { createMeasuredSession } from './device/create-session.ts';
import { integerGemmWeightLevels } from './device/integer-gemm-range.ts';
import { keepsTensorsOnDevice, takesScreenedHead, usesIntegerGemm, type ExecutionDevice, type SessionConfig } from './device/device-config.ts';
import { assertFeedsFitDevice } from './device/feed-guard.ts';
import type { GraphNodePlacement } from './device/node-placement.ts';
import { TensorCopy } from './device/tensor-copy.ts';
import { nativeCall } from './device/native-calls.ts';
import { hostBytes, type TransferTally } from './device/transfer-tally.ts';
import { int64Feed, ort } from './onnx-session.ts';
import { collectDeadOutputs, outputsHandedBack } from './freed-memory.ts';
import { ScreenedHead } from './screened-head.ts';
import { TokenEmbeddings } from './token-embeddings.ts';

/** Past this many weight bytes a graph goes to disk with ONNX external data (protobuf's 2 GB cap). */
const EXTERNAL_DATA_BYTES = 1.5 * 2 ** 30;

export interface DecoderStepFeeds {
  inputIds: ort.Tensor; // [B, T] int64
  encoderAttentionMask: ort.Tensor; // [B, S] int64
  pastMask: ort.Tensor; // [B, C] int64: 1 where a cache slot holds a real key
  pastPositions: ort.Tensor; // [B, C] int64
  queryPositions: ort.Tensor; // [B, T] int64
  past: ort.Tensor[]; // per layer: key, value ([B, H, C, dk])
  cross: ort.Tensor[]; // per layer: key, value ([B, H, S, dk])
  /** Per-row LoRA adapters (AdapterSlots.feeds), for a runner built with adapter targets. */
  adapters?: AdapterFeeds;
}

/** adapter_index and the stacked factors, by graph input name; each graph takes the ones it declares. */
export type AdapterFeeds = Record<string, ort.Tensor>;

export interface DecoderStepResult {
  /** [B, T, V] when asked for (a fresh array: onnxruntime-node copies every output it hands back). */
  logits: ort.Tensor | undefined;
  /** The argmax of each row's logits, [B, T]. */
  greedyIds: BigInt64Array;
  /** The new tokens' keys and values, per layer key then value ([B, H, T, dk]), for the caller's cache. */
  newKV: ort.Tensor[];
  /** With a screened head: what the head multiplies, [B, T, D]. */
  headInput?: ort.Tensor;
}

export interface DeviceStepResult {
  /** [B, 1, V] when asked for, or [R, 1, V] for the rows asked for. */
  logits: ort.Tensor | undefined;
  greedyIds: BigInt64Array;
  /** The grown cache, on the device, per layer key then value ([B, H, C + 1, dk]). */
  present: ort.Tensor[];
}

/** Names of a per-layer key and value, for every layer, key then value. */
function keyValueNames(layers: number, key: (i: number) => string, value: (i: number) => string): string[] {
  return Array.from({ length: layers }, (_, i) => [key(i), value(i)]).flat();
}

/** The decoder's grown-cache outputs. */
const presentOutputNames = (layers: number) => keyValueNames(layers, decoderNames.presentKey, decoderNames.presentValue);
/** The cross graph's outputs. */
const crossOutputNames = (layers: number) => keyValueNames(layers, decoderNames.crossKey, decoderNames.crossValue);
/** The decoder's new-token keys and values. */
const newOutputNames = (layers: number) => keyValueNames(layers, decoderNames.newKey, decoderNames.newValue);

/** Frees a run's outputs that stay on the device, but those in `keep`. */
function disposeDeviceTensors(out: Record<string, ort.Tensor>, keep: ReadonlySet<ort.Tensor> = new Set()): void {
  for (const t of Object.values(out)) if (t.location === 'gpu-buffer' && !keep.has(t)) t.dispose();
}

/**
 * Runs a T5 checkpoint's three graphs. It only runs: who is in the batch, what is cached and what is
 * sampled are the engine's business.
 */
export class T5Runner {
  private bareBase?: AdapterSlots;
  /** With a screened head: the f32 head, made at its first use (logits asked for, or a row the screen could not settle). */
  private fullHead?: Promise<ort.InferenceSession>;

  private constructor(
    readonly config: T5Config,
    readonly device: ExecutionDevice,
    /** Per graph, how many nodes each execution provider runs: for the startup log and /metrics. */
    readonly nodePlacement: readonly GraphNodePlacement[],
    /** The modules whose layers take a per-row adapter (empty: the graphs have no adapter inputs). */
    readonly adapterTargets: readonly string[],
    private readonly encoder: ort.InferenceSession,
    private readonly crossKV: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    /** On a device that keeps the decoder's outputs (WebGPU), what reads them back. */
    private readonly tensorCopy: TensorCopy | undefined,
    /** On the CPU, the one embedding table both graphs' `inputs_embeds` are looked up in. */
    private readonly embeddings: TokenEmbeddings | undefined,
    /** Where the decoder screens its head on int8 weights (takesScreenedHead): the exact argmax's f32 side. */
    private readonly screen: ScreenedHead | undefined,
    private readonly session: SessionConfig,
  ) {}

  static async fromWeights(config: T5Config, weights: T5Weights, session: SessionConfig, adapterTargets: readonly string[] = []): Promise<T5Runner> {
    // Building a graph and creating its session both run synchronously for a good part of a second on
    // a small model; one at a time, with a turn of the event loop after each, a thread loading a model
    // still answers between them instead of holding everything to the end.
    // Where the device can hold tensors between runs, the decoder also hands back its grown cache, and
    // every float output stays there until asked for (see runDecoder).
    const onDevice = keepsTensorsOnDevice(session.device);
    const deviceOutputs = onDevice ? ['logits', ...newOutputNames(config.numDecoderLayers), ...presentOutputNames(config.numDecoderLayers)] : [];
    // The encoder's states and the cross graph's keys and values too: a batch's arrival leaves them there
    // (encodeOnDevice, crossKeyValuesOnDevice).
    const crossOutputs = onDevice ? crossOutputNames(config.numDecoderLayers) : [];
    const encoderOutputs = onDevice ? ['last_hidden_state'] : [];
    // On the CPU the runner looks the tokens up itself, so the table is held once rather than by both
    // graphs; a GPU keeps it on the device, where a step then sends ids, not embeddings, across.
    const feedEmbeddings = session.device === 'cpu';
    const shared = weights.get('shared.weight');
    if (feedEmbeddings && !shared) throw new Error('weight shared.weight is missing');
    const embeddings = feedEmbeddings ? TokenEmbeddings.copyOf(shared!.data, config.vocabSize, config.dModel) : undefined;
    const screened = takesScreenedHead(session);
    // The range this CPU's integer GEMM multiplies int8 weights in without saturating; asked only of a
    // model that runs on it.
    const weightLevels = usesIntegerGemm(session) ? await integerGemmWeightLevels() : FULL_WEIGHT_LEVELS;
    const screen = screened ? screenedHeadOf(config, weights, embeddings, weightLevels) : undefined;
    const builds = [
      () => buildEncoderGraph(config, weights, adapterTargets, { feedEmbeddings }),
      () => buildCrossKVGraph(config, weights, adapterTargets),
      () => buildDecoderStepGraph(config, weights, adapterTargets, { presentOutputs: onDevice, feedEmbeddings, ...(screened ? { screenedHead: { weightLevels } } : {}) }),
    ];
    const sessions = [];
    for (const [index, build] of builds.entries()) {
      const quantized = quantizeGraphWeights(build(), session.weights ?? 'f32', weightLevels);
      const graph = session.precision === 'fp16' ? toFloat16Compute(quantized) : quantized;
      await yieldToEventLoop();
      sessions.push(await sessionForGraph(graph, session, EXTERNAL_DATA_BYTES, [encoderOutputs, crossOutputs, deviceOutputs][index]));
      await yieldToEventLoop();
    }
    const [encoder, crossKV, decoder] = sessions;
    const placement = sessions.map((m) => m.placement);
    const tensorCopy = onDevice ? new TensorCopy({ device: session.device, threads: 1 }) : undefined;
    return new T5Runner(config, session.device, placement, adapterTargets, encoder.session, crossKV.session, decoder.session, tensorCopy, embeddings, screen, session);
  }

  /** Encoder states [B, S, D] on the host for padded ids and their 0/1 mask. */
  async encode(inputIds: ort.Tensor, attentionMask: ort.Tensor, adapters?: AdapterFeeds, tally?: TransferTally): Promise<ort.Tensor> {
    const states = await this.runEncoder(inputIds, attentionMask, adapters, tally);
    return this.tensorCopy ? (await this.tensorCopy.moveToHost([states], tally))[0] : states;
  }

  /** The same left on the device (keepsTensorsOnDevice), for the cross graph: the caller frees them. */
  async encodeOnDevice(inputIds: ort.Tensor, attentionMask: ort.Tensor, adapters?: AdapterFeeds, tally?: TransferTally): Promise<ort.Tensor> {
    if (!this.tensorCopy) throw new Error(`the ${this.device} device does not keep tensors between runs`);
    return this.runEncoder(inputIds, attentionMask, adapters, tally);
  }

  private async runEncoder(inputIds: ort.Tensor, attentionMask: ort.Tensor, adapters: AdapterFeeds | undefined, tally: TransferTally | undefined) {
    const feeds = { ...this.tokenFeed(inputIds), attention_mask: attentionMask, ...this.adapterFeeds(this.encoder, adapters, inputIds.dims[0]) };
    const out = await this.run(this.encoder, feeds, undefined, tally);
    return out.last_hidden_state as ort.Tensor;
  }

  /**
   * Every decoder layer's cross-attention key and value on the host, per layer key then value, [B, H, S,
   * dk]. `into`: memory of that size per tensor, in the same order, that they are written into (on the
   * CPU by the graph itself, instead of new tensors).
   */
  async crossKeyValues(encoderStates: ort.Tensor, adapters?: AdapterFeeds, tally?: TransferTally, into?: Float32Array[]): Promise<ort.Tensor[]> {
    if (this.tensorCopy) {
      // On a device that keeps them, they are read back (into `into` where given) and the device's copies freed.
      const onHost = await this.tensorCopy.moveToHost(await this.runCross(encoderStates, adapters, tally), tally);
      into?.forEach((target, t) => target.set(onHost[t].data as Float32Array));
      return onHost;
    }
    const [batch, source] = encoderStates.dims;
    const dims = [batch, this.config.numHeads, source, this.config.dKv];
    const fetches = into && Object.fromEntries(crossOutputNames(this.config.numDecoderLayers).map((name, t) => [name, new ort.Tensor('float32', into[t], dims)]));
    return this.runCross(encoderStates, adapters, tally, fetches);
  }

  /**
   * The same left on the device (keepsTensorsOnDevice): the caller frees them. A batch's arrival does
   * not take them through the host and back.
   */
  async crossKeyValuesOnDevice(encoderStates: ort.Tensor, adapters?: AdapterFeeds, tally?: TransferTally): Promise<ort.Tensor[]> {
    if (!this.tensorCopy) throw new Error(`the ${this.device} device does not keep tensors between runs`);
    return this.runCross(encoderStates, adapters, tally);
  }

  private async runCross(encoderStates: ort.Tensor, adapters: AdapterFeeds | undefined, tally: TransferTally | undefined, fetches?: Record<string, ort.Tensor>) {
    const feeds = { encoder_hidden_states: encoderStates, ...this.adapterFeeds(this.crossKV, adapters, encoderStates.dims[0]) };
    const out = await this.run(this.crossKV, feeds, fetches, tally);
    return crossOutputNames(this.config.numDecoderLayers).map((name) => out[name]);
  }

  /**
   * One decoder pass. With `logits: false` (every row greedy) no logits come back, and a screened head
   * leaves them uncomputed.
   */
  async decodeStep(f: DecoderStepFeeds, opts: { tally?: TransferTally; logits?: boolean } = {}): Promise<DecoderStepResult> {
    const feeds = this.decoderFeeds(f);
    if (this.screen) return this.screenedStep(this.screen, feeds, opts);
    if (this.tensorCopy) {
      // The outputs are on the device: the logits and the new keys and values are read back.
      const out = await this.runDecoder(feeds, opts.tally);
      try {
        const newNames = newOutputNames(this.config.numDecoderLayers);
        const [logits, ...newKV] = await this.tensorCopy.toHost([out.logits, ...newNames.map((name) => out[name])], opts.tally);
        return { logits, greedyIds: out.greedy_ids.data as BigInt64Array, newKV };
      } finally {
        disposeDeviceTensors(out);
      }
    }
    const fetches = { ...this.outputNames(), ...logitsFetch(opts) };
    const out = await this.run(this.decoder, feeds, fetches, opts.tally);
    const newKV = this.layers().flatMap((i) => [out[decoderNames.newKey(i)], out[decoderNames.newValue(i)]] as ort.Tensor[]);
    return { logits: out.logits as ort.Tensor | undefined, greedyIds: out.greedy_ids.data as BigInt64Array, newKV };
  }

  /** A decoder pass through the screened head: exact greedy ids, and the f32 head only where needed. */
  private async screenedStep(
    screen: ScreenedHead,
    feeds: Record<string, ort.Tensor>,
    opts: { tally?: TransferTally; logits?: boolean },
  ): Promise<DecoderStepResult> {
    const fetches = { ...this.newKVFetches(), head_input: null, screen_maxima: null, screen_blocks: null, screen_values: null };
    const out = await this.run(this.decoder, feeds, fetches, opts.tally);
    const newKV = this.layers().flatMap((i) => [out[decoderNames.newKey(i)], out[decoderNames.newValue(i)]] as ort.Tensor[]);
    const input = out.head_input as ort.Tensor;
    const values = out.screen_values as ort.Tensor;
    const { greedyIds, uncertain } = screen.pick(
      input.data as Float32Array,
      out.screen_maxima.data as Float32Array,
      out.screen_blocks.data as BigInt64Array,
      values.data as Float32Array,
      values.dims[values.dims.length - 1],
    );
    if (opts.logits === false) {
      // Only the rows the screen could not settle go through the f32 head.
      if (uncertain.length) {
        const d = this.config.dModel;
        const data = input.data as Float32Array;
        const rows = new Float32Array(uncertain.length * d);
        uncertain.forEach((r, i) => rows.set(data.subarray(r * d, (r + 1) * d), i * d));
        const head = await this.runFullHead(screen, new ort.Tensor('float32', rows, [uncertain.length, 1, d]), opts);
        uncertain.forEach((r, i) => (greedyIds[r] = head.greedyIds[i]));
      }
      return { logits: undefined, greedyIds, newKV, headInput: input };
    }
    const head = await this.runFullHead(screen, input, opts);
    for (const r of uncertain) greedyIds[r] = head.greedyIds[r];
    return { logits: head.logits, greedyIds, newKV, headInput: input };
  }

  /** The f32 head over head inputs [B, T, D]: the argmax, and the logits as `logitsFetch` asks. */
  private async runFullHead(screen: ScreenedHead, input: ort.Tensor, opts: { tally?: TransferTally; logits?: boolean }) {
    this.fullHead ??= this.createFullHead(screen);
    const fetches = { greedy_ids: null, ...logitsFetch(opts) };
    const out = await this.run(await this.fullHead, { head_input: input }, fetches, opts.tally);
    return { logits: out.logits as ort.Tensor | undefined, greedyIds: out.greedy_ids.data as BigInt64Array };
  }

  private async createFullHead(screen: ScreenedHead): Promise<ort.InferenceSession> {
    const weight = { shape: [this.config.vocabSize, this.config.dModel], data: screen.weight };
    const graph = buildLmHeadGraph(this.config, new Map([[lmHeadWeightName(this.config), weight]]));
    return (await sessionForGraph(graph, this.session)).session;
  }

  /**
   * One decoder step whose grown cache (present.{i}.*) stays on the device for the next step's past, on
   * a device that keeps tensors (keepsTensorsOnDevice). Logits cross to the host only when asked for,
   * and only the rows asked for: greedy rows need only the ids.
   */
  async decodeStepOnDevice(f: DecoderStepFeeds, opts: { logits: boolean | readonly number[]; tally?: TransferTally }): Promise<DeviceStepResult> {
    if (!this.tensorCopy) throw new Error(`the ${this.device} device does not keep the cache between steps`);
    const out = await this.runDecoder(this.decoderFeeds(f), opts.tally);
    const present = presentOutputNames(this.config.numDecoderLayers).map((name) => out[name]);
    let logits: ort.Tensor | undefined;
    try {
      const rows = opts.logits;
      if (rows === true) [logits] = await this.tensorCopy.toHost([out.logits], opts.tally);
      else if (rows !== false && rows.length) logits = await this.tensorCopy.rowsToHost(out.logits, rows, opts.tally);
    } catch (err) {
      // The step failed: its grown cache goes too (the caller keeps the old one).
      disposeDeviceTensors(out);
      throw err;
    }
    disposeDeviceTensors(out, new Set(present));
    return { logits, greedyIds: out.greedy_ids.data as BigInt64Array, present };
  }

  /**
   * A decoder run on a device that keeps its outputs. onnxruntime-node 1.30 binds such a session's
   * outputs once and keeps them bound from run to run (a stale one fails the next run on its old
   * shape), so every run fetches every output; the caller reads back and disposes what it needs.
   */
  private async runDecoder(feeds: Record<string, ort.Tensor>, tally: TransferTally | undefined): Promise<Record<string, ort.Tensor>> {
    const out = await this.run(this.decoder, feeds, Object.fromEntries(this.decoder.outputNames.map((name) => [name, null])), tally);
    return out as Record<string, ort.Tensor>;
  }

  /** Every run of the three graphs: no zero-sized feed reaches a GPU provider, and the bytes that cross are counted. */
  private async run(
    session: ort.InferenceSession,
    feeds: Record<string, ort.Tensor>,
    fetches: Record<string, ort.Tensor | null> | undefined,
    tally: TransferTally | undefined,
  ): Promise<ort.InferenceSession.ReturnType> {
    assertFeedsFitDevice(this.device, feeds);
    collectDeadOutputs();
    const out = await nativeCall(() => (fetches ? session.run(feeds, fetches) : session.run(feeds)));
    tally?.count(this.device, feeds, out);
    outputsHandedBack(hostBytes(Object.values(out) as ort.Tensor[]));
    return out;
  }

  /**
   * Every step's ~90 feeds, assigned one by one into a fresh object: V8 took ~250 us to build the same
   * object as a literal that spreads the ~50 adapter feeds in after other properties (flan-t5-small with
   * q,v targeted; a batch-1 step is 3-5 ms). This way the object takes ~4 us, the whole call ~19.
   */
  private decoderFeeds(f: DecoderStepFeeds): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    const add = (more: Record<string, ort.Tensor>) => {
      for (const name in more) feeds[name] = more[name];
    };
    add(this.tokenFeed(f.inputIds));
    feeds.encoder_attention_mask = f.encoderAttentionMask;
    feeds.past_mask = f.pastMask;
    feeds.past_positions = f.pastPositions;
    feeds.query_positions = f.queryPositions;
    add(this.adapterFeeds(this.decoder, f.adapters, f.inputIds.dims[0]));
    for (const i of this.layers()) {
      feeds[decoderNames.pastKey(i)] = f.past[2 * i];
      feeds[decoderNames.pastValue(i)] = f.past[2 * i + 1];
      feeds[decoderNames.crossKey(i)] = f.cross[2 * i];
      feeds[decoderNames.crossValue(i)] = f.cross[2 * i + 1];
    }
    return feeds;
  }

  /** A graph's token input: the ids, or on the CPU their embeddings (see TokenEmbeddings). */
  private tokenFeed(ids: ort.Tensor): Record<string, ort.Tensor> {
    return this.embeddings ? { inputs_embeds: this.embeddings.lookup(ids) } : { input_ids: ids };
  }

  private outputNames(): Record<string, null> {
    return { greedy_ids: null, ...this.newKVFetches() };
  }

  private newKVFetches(): Record<string, null> {
    return Object.fromEntries(newOutputNames(this.config.numDecoderLayers).map((name) => [name, null]));
  }

  /**
   * The cache of a pass that starts from nothing (teacher forcing): one slot per row, masked out. Not zero
   * slots: a GPU provider crashes on a zero-sized feed, and a masked slot adds exp(-1e9) = 0 to softmax.
   */
  private emptyPast(batch: number): Pick<DecoderStepFeeds, 'past' | 'pastMask' | 'pastPositions'> {
    const shape = [batch, this.config.numHeads, 1, this.config.dKv];
    const size = batch * this.config.numHeads * this.config.dKv;
    const slot = () => new ort.Tensor('float32', new Float32Array(size), shape);
    return {
      past: this.layers().flatMap(() => [slot(), slot()]),
      pastMask: new ort.Tensor('int64', new BigInt64Array(batch), [batch, 1]),
      pastPositions: new ort.Tensor('int64', new BigInt64Array(batch), [batch, 1]),
    };
  }

  /**
   * Teacher-forced forward pass (HF semantics: no decoder padding mask, causal self-attention):
   * encoder states [B, S, D] and logits [B, T, V], in their own buffers, so it may run beside decoding.
   */
  async forward(inputIds: number[][], attentionMask: number[][], decoderInputIds: number[][]) {
    const encoderMask = int64Feed(attentionMask);
    const encoderStates = await this.encode(int64Feed(inputIds), encoderMask);
    const logits = await this.teacherForced(decoderInputIds, encoderMask, await this.crossKeyValues(encoderStates));
    return { encoderStates, logits };
  }

  /**
   * Several targets teacher-forced after one prompt (rank classification): the encoder runs once and
   * its cross-attention keys and values are repeated for each target row. Logits [B, T, V].
   */
  async forwardOnePrompt(promptIds: readonly number[], decoderInputIds: number[][]): Promise<ort.Tensor> {
    const batch = decoderInputIds.length;
    const encoderStates = await this.encode(int64Feed([[...promptIds]]), int64Feed([promptIds.map(() => 1)]));
    const cross = await Promise.all((await this.crossKeyValues(encoderStates)).map((t) => repeatRows(t, batch)));
    return this.teacherForced(decoderInputIds, int64Feed(decoderInputIds.map(() => promptIds.map(() => 1))), cross);
  }

  /**
   * Whether one teacher-forced step on a one-token prompt gives finite logits: the load probe. A
   * screened runner checks its head inputs instead, so that the probe does not make the f32 head (66 MiB
   * at flan-t5-small) in a server that only decodes greedily: finite inputs times finite weights (the
   * weights are checked before the probe) are finite logits below the bound ScreenedHead checks.
   */
  async probeFinite(promptIds: readonly number[], decoderStart: number): Promise<boolean> {
    const encoderMask = int64Feed([promptIds.map(() => 1)]);
    const states = await this.encode(int64Feed([[...promptIds]]), encoderMask);
    const step = await this.teacherForcedStep([[decoderStart]], encoderMask, await this.crossKeyValues(states), !this.screen);
    if (this.screen) return this.screen.logitsFinite(step.headInput!.data as Float32Array);
    const logits = step.logits!.data as Float32Array;
    return logits.length > 0 && logits.every(Number.isFinite);
  }

  private async teacherForced(decoderInputIds: number[][], encoderMask: ort.Tensor, cross: ort.Tensor[]): Promise<ort.Tensor> {
    // Asked for, so present on every path.
    return (await this.teacherForcedStep(decoderInputIds, encoderMask, cross, true)).logits!;
  }

  private async teacherForcedStep(decoderInputIds: number[][], encoderMask: ort.Tensor, cross: ort.Tensor[], logits: boolean): Promise<DecoderStepResult> {
    const batch = decoderInputIds.length;
    return this.decodeStep(
      {
        inputIds: int64Feed(decoderInputIds),
        encoderAttentionMask: encoderMask,
        ...this.emptyPast(batch),
        queryPositions: int64Feed(decoderInputIds.map((row) => row.map((_, t) => t))),
        cross,
      },
      { logits },
    );
  }

  async release(): Promise<void> {
    const fullHead = await this.fullHead?.catch(() => undefined);
    await Promise.all([this.encoder.release(), this.crossKV.release(), this.decoder.release(), this.tensorCopy?.release(), fullHead?.release()]);
  }

  /**
   * The adapter inputs a graph declares: the rows' own, or, for a pass that names none (teacher forcing,
   * scoring, the load probe), every row on the bare base (slot 0, zeros).
   */
  private adapterFeeds(session: ort.InferenceSession, adapters: AdapterFeeds | undefined, batch: number): AdapterFeeds {
    if (adapters || this.adapterTargets.length === 0) return declared(session, adapters);
    this.bareBase ??= new AdapterSlots(this.config, this.adapterTargets, this.device);
    return declared(session, this.bareBase.feeds(new Array<string>(batch).fill(BASE_ADAPTER)));
  }

  private layers(): number[] {
    return Array.from({ length: this.config.numDecoderLayers }, (_, i) => i);
  }
}

/** The adapter feeds a session's graph declares (a graph without targeted layers declares none). */
function declared(session: ort.InferenceSession, adapters: AdapterFeeds | undefined): AdapterFeeds {
  if (!adapters) return {};
  return Object.fromEntries(session.inputNames.filter((name) => name in adapters).map((name) => [name, adapters[name]]));
}

/**
 * The screened head's f32 side: the tied embedding table the runner already holds, or a private copy of
 * lm_head.weight (a view would keep the whole checkpoint buffer alive).
 */
function screenedHeadOf(config: T5Config, weights: T5Weights, embeddings: TokenEmbeddings | undefined, weightLevels: WeightLevels): ScreenedHead {
  const name = lmHeadWeightName(config);
  const weight = name === 'shared.weight' && embeddings ? embeddings.table : weights.get(name)?.data.slice();
  if (!weight) throw new Error(`weight ${name} is missing`);
  return new ScreenedHead(weight, config.vocabSize, config.dModel, weightLevels);
}

/** A batch-of-one float tensor [1, ...] repeated into [rows, ...]. */
async function repeatRows(tensor: ort.Tensor, rows: number): Promise<ort.Tensor> {
  const one = (await tensor.getData()) as Float32Array;
  const out = new Float32Array(one.length * rows);
  for (let r = 0; r < rows; r++) out.set(one, r * one.length);
  return new ort.Tensor('float32', out, [rows, ...tensor.dims.slice(1)]);
}

/**
 * The logits a CPU run fetches: none for greedy rows (`logits: false`). onnxruntime-node copies every
 * fetched output into a fresh array (even one given a preallocated buffer to write), 4.9 MB a step at
 * batch 32, and that garbage set off a full collection every four steps, each stalling its step by ~40 ms.
 */
function logitsFetch(opts: { logits?: boolean }): Record<string, null> {
  return opts.logits === false ? {} : { logits: null };
}

/** Lets pending I/O (requests, timers) run before the next synchronous stretch of work. */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Small graphs load from memory; large ones are written with external data and loaded by path. */
export async function sessionForGraph(graph: Graph, session: SessionConfig, externalAboveBytes = EXTERNAL_DATA_BYTES, outputsOnDevice: readonly string[] = []) {
  const extraOpsets = contribOpsets(graph);
  if (initializerBytes(graph) < externalAboveBytes) {
    return createMeasuredSession(serializeModel(graph, { extraOpsets }), session, graph.name, outputsOnDevice);
  }
  const base = join(process.env.FLAN_DATA_DIR ?? tmpdir(), 'onnx-cache');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `${graph.name}-`));
  try {
    const modelPath = join(dir, 'model.onnx');
    const bytes = serializeModel(graph, { extraOpsets, externalData: { path: join(dir, 'model.onnx.data'), location: 'model.onnx.data' } });
    writeFileSync(modelPath, bytes);
    return await createMeasuredSession(modelPath, session, graph.name, outputsOnDevice);
  } finally {
    // onnxruntime has read (or mapped; unlinking keeps a mapping valid) the weights by now.
    rmSync(dir, { recursive: true, force: true });
  }
}
