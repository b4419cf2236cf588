import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { T5Config } from './checkpoint/t5-config.ts';
import type { T5Weights } from './checkpoint/t5-weights.ts';
import type { Graph } from './graph/ir.ts';
import { initializerBytes } from './graph/ir.ts';
import { serializeModel } from './graph/onnx-serialize.ts';
import { contribOpsets, quantizeGraphWeights } from './graph/quantize-weights.ts';
import { buildCrossKVGraph, buildDecoderStepGraph, buildEncoderGraph, decoderNames } from './graph/t5-graphs.ts';
import { AdapterSlots, BASE_ADAPTER } from './engine/adapter-slots.ts';
import { createMeasuredSession } from './device/create-session.ts';
import type { ExecutionDevice, SessionConfig } from './device/device-config.ts';
import { assertFeedsFitDevice } from './device/feed-guard.ts';
import type { GraphNodePlacement } from './device/node-placement.ts';
import { int64Feed, ort } from './onnx-session.ts';

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
  /** [B, T, V]; its buffer is reused by the next step, so read it before stepping again. */
  logits: ort.Tensor;
  /** The argmax of each row's logits, [B, T]. */
  greedyIds: BigInt64Array;
  /** The new tokens' keys and values, per layer key then value ([B, H, T, dk]), for the caller's cache. */
  newKV: ort.Tensor[];
}

/**
 * Runs a T5 checkpoint's three graphs. It only runs: who is in the batch, what is cached and what is
 * sampled are the engine's business.
 */
export class T5Runner {
  private logitsScratch: Float32Array | undefined;
  private bareBase?: AdapterSlots;

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
  ) {}

  static async fromWeights(config: T5Config, weights: T5Weights, session: SessionConfig, adapterTargets: readonly string[] = []): Promise<T5Runner> {
    // Building a graph and creating its session both run synchronously for a good part of a second on
    // a small model; one at a time, with a turn of the event loop after each, a thread loading a model
    // still answers between them instead of holding everything to the end.
    const sessions = [];
    for (const build of [buildEncoderGraph, buildCrossKVGraph, buildDecoderStepGraph]) {
      const graph = quantizeGraphWeights(build(config, weights, adapterTargets), session.weights ?? 'f32');
      await yieldToEventLoop();
      sessions.push(await sessionForGraph(graph, session));
      await yieldToEventLoop();
    }
    const [encoder, crossKV, decoder] = sessions;
    const placement = sessions.map((m) => m.placement);
    return new T5Runner(config, session.device, placement, adapterTargets, encoder.session, crossKV.session, decoder.session);
  }

  /** Encoder states [B, S, D] for padded ids and their 0/1 mask. */
  async encode(inputIds: ort.Tensor, attentionMask: ort.Tensor, adapters?: AdapterFeeds): Promise<ort.Tensor> {
    const feeds = { input_ids: inputIds, attention_mask: attentionMask, ...this.adapterFeeds(this.encoder, adapters, inputIds.dims[0]) };
    assertFeedsFitDevice(this.device, feeds);
    const out = await this.encoder.run(feeds);
    return out.last_hidden_state as ort.Tensor;
  }

  /** Every decoder layer's cross-attention key and value, flattened [k0, v0, k1, v1, ...]. */
  async crossKeyValues(encoderStates: ort.Tensor, adapters?: AdapterFeeds): Promise<ort.Tensor[]> {
    const feeds = { encoder_hidden_states: encoderStates, ...this.adapterFeeds(this.crossKV, adapters, encoderStates.dims[0]) };
    assertFeedsFitDevice(this.device, feeds);
    const out = await this.crossKV.run(feeds);
    return this.layers().flatMap((i) => [out[decoderNames.crossKey(i)], out[decoderNames.crossValue(i)]] as ort.Tensor[]);
  }

  /**
   * One decoder pass. The logits land in a buffer reused from step to step unless `freshLogits`: a
   * pass that may run beside the scheduler's steps (teacher-forced scoring) must not share it.
   */
  async decodeStep(f: DecoderStepFeeds, opts: { freshLogits?: boolean } = {}): Promise<DecoderStepResult> {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: f.inputIds,
      encoder_attention_mask: f.encoderAttentionMask,
      past_mask: f.pastMask,
      past_positions: f.pastPositions,
      query_positions: f.queryPositions,
      ...this.adapterFeeds(this.decoder, f.adapters, f.inputIds.dims[0]),
    };
    for (const i of this.layers()) {
      feeds[decoderNames.pastKey(i)] = f.past[2 * i];
      feeds[decoderNames.pastValue(i)] = f.past[2 * i + 1];
      feeds[decoderNames.crossKey(i)] = f.cross[2 * i];
      feeds[decoderNames.crossValue(i)] = f.cross[2 * i + 1];
    }
    assertFeedsFitDevice(this.device, feeds);
    const out = await this.decoder.run(feeds, { ...this.outputNames(), logits: opts.freshLogits ? null : this.logitsBuffer(f.inputIds.dims) });
    const newKV = this.layers().flatMap((i) => [out[decoderNames.newKey(i)], out[decoderNames.newValue(i)]] as ort.Tensor[]);
    return { logits: out.logits as ort.Tensor, greedyIds: out.greedy_ids.data as BigInt64Array, newKV };
  }

  /**
   * The logits output written into one reused buffer: a fresh B x V array per step (4 MB at batch 32)
   * would be garbage for the collector every few milliseconds.
   */
  private logitsBuffer(idsDims: readonly number[]): ort.Tensor {
    const [batch, steps] = idsDims;
    const size = batch * steps * this.config.vocabSize;
    if (!this.logitsScratch || this.logitsScratch.length < size) this.logitsScratch = new Float32Array(size);
    return new ort.Tensor('float32', this.logitsScratch.subarray(0, size), [batch, steps, this.config.vocabSize]);
  }

  private outputNames(): Record<string, null> {
    const names: Record<string, null> = { greedy_ids: null };
    for (const i of this.layers()) names[decoderNames.newKey(i)] = names[decoderNames.newValue(i)] = null;
    return names;
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

  private async teacherForced(decoderInputIds: number[][], encoderMask: ort.Tensor, cross: ort.Tensor[]): Promise<ort.Tensor> {
    const batch = decoderInputIds.length;
    const { logits } = await this.decodeStep(
      {
        inputIds: int64Feed(decoderInputIds),
        encoderAttentionMask: encoderMask,
        ...this.emptyPast(batch),
        queryPositions: int64Feed(decoderInputIds.map((row) => row.map((_, t) => t))),
        cross,
      },
      { freshLogits: true },
    );
    return logits;
  }

  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.crossKV.release(), this.decoder.release()]);
  }

  /**
   * The adapter inputs a graph declares: the rows' own, or, for a pass that names none (teacher forcing,
   * scoring, the load probe), every row on the bare base (slot 0, zeros).
   */
  private adapterFeeds(session: ort.InferenceSession, adapters: AdapterFeeds | undefined, batch: number): AdapterFeeds {
    if (adapters || this.adapterTargets.length === 0) return declared(session, adapters);
    this.bareBase ??= new AdapterSlots(this.config, this.adapterTargets);
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

/** A batch-of-one float tensor [1, ...] repeated into [rows, ...]. */
async function repeatRows(tensor: ort.Tensor, rows: number): Promise<ort.Tensor> {
  const one = (await tensor.getData()) as Float32Array;
  const out = new Float32Array(one.length * rows);
  for (let r = 0; r < rows; r++) out.set(one, r * one.length);
  return new ort.Tensor('float32', out, [rows, ...tensor.dims.slice(1)]);
}

/** Lets pending I/O (requests, timers) run before the next synchronous stretch of work. */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Small graphs load from memory; large ones are written with external data and loaded by path. */
export async function sessionForGraph(graph: Graph, session: SessionConfig, externalAboveBytes = EXTERNAL_DATA_BYTES) {
  const extraOpsets = contribOpsets(graph);
  if (initializerBytes(graph) < externalAboveBytes) return createMeasuredSession(serializeModel(graph, { extraOpsets }), session, graph.name);
  const base = join(process.env.FLAN_DATA_DIR ?? tmpdir(), 'onnx-cache');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `${graph.name}-`));
  try {
    const modelPath = join(dir, 'model.onnx');
    const bytes = serializeModel(graph, { extraOpsets, externalData: { path: join(dir, 'model.onnx.data'), location: 'model.onnx.data' } });
    writeFileSync(modelPath, bytes);
    return await createMeasuredSession(modelPath, session, graph.name);
  } finally {
    // onnxruntime has read (or mapped; unlinking keeps a mapping valid) the weights by now.
    rmSync(dir, { recursive: true, force: true });
  }
}
