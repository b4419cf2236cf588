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
}

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

  private constructor(
    readonly config: T5Config,
    readonly device: ExecutionDevice,
    /** Per graph, how many nodes each execution provider runs: for the startup log and /metrics. */
    readonly nodePlacement: readonly GraphNodePlacement[],
    private readonly encoder: ort.InferenceSession,
    private readonly crossKV: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
  ) {}

  static async fromWeights(config: T5Config, weights: T5Weights, session: SessionConfig): Promise<T5Runner> {
    const format = session.weights ?? 'f32';
    const graphs = [buildEncoderGraph, buildCrossKVGraph, buildDecoderStepGraph].map((build) => quantizeGraphWeights(build(config, weights), format));
    const [encoder, crossKV, decoder] = await Promise.all(graphs.map((g) => sessionForGraph(g, session)));
    const placement = [encoder, crossKV, decoder].map((m) => m.placement);
    return new T5Runner(config, session.device, placement, encoder.session, crossKV.session, decoder.session);
  }

  /** Encoder states [B, S, D] for padded ids and their 0/1 mask. */
  async encode(inputIds: ort.Tensor, attentionMask: ort.Tensor): Promise<ort.Tensor> {
    const feeds = { input_ids: inputIds, attention_mask: attentionMask };
    assertFeedsFitDevice(this.device, feeds);
    const out = await this.encoder.run(feeds);
    return out.last_hidden_state as ort.Tensor;
  }

  /** Every decoder layer's cross-attention key and value, flattened [k0, v0, k1, v1, ...]. */
  async crossKeyValues(encoderStates: ort.Tensor): Promise<ort.Tensor[]> {
    const feeds = { encoder_hidden_states: encoderStates };
    assertFeedsFitDevice(this.device, feeds);
    const out = await this.crossKV.run(feeds);
    return this.layers().flatMap((i) => [out[decoderNames.crossKey(i)], out[decoderNames.crossValue(i)]] as ort.Tensor[]);
  }

  async decodeStep(f: DecoderStepFeeds): Promise<DecoderStepResult> {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: f.inputIds,
      encoder_attention_mask: f.encoderAttentionMask,
      past_mask: f.pastMask,
      past_positions: f.pastPositions,
      query_positions: f.queryPositions,
    };
    for (const i of this.layers()) {
      feeds[decoderNames.pastKey(i)] = f.past[2 * i];
      feeds[decoderNames.pastValue(i)] = f.past[2 * i + 1];
      feeds[decoderNames.crossKey(i)] = f.cross[2 * i];
      feeds[decoderNames.crossValue(i)] = f.cross[2 * i + 1];
    }
    assertFeedsFitDevice(this.device, feeds);
    const out = await this.decoder.run(feeds, { ...this.outputNames(), logits: this.logitsBuffer(f.inputIds.dims) });
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
   * encoder states [B, S, D] and logits [B, T, V].
   */
  async forward(inputIds: number[][], attentionMask: number[][], decoderInputIds: number[][]) {
    const encoderMask = int64Feed(attentionMask);
    const encoderStates = await this.encode(int64Feed(inputIds), encoderMask);
    const cross = await this.crossKeyValues(encoderStates);
    const { logits } = await this.decodeStep({
      inputIds: int64Feed(decoderInputIds),
      encoderAttentionMask: encoderMask,
      ...this.emptyPast(decoderInputIds.length),
      queryPositions: int64Feed(decoderInputIds.map((row) => row.map((_, t) => t))),
      cross,
    });
    return { encoderStates, logits };
  }

  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.crossKV.release(), this.decoder.release()]);
  }

  private layers(): number[] {
    return Array.from({ length: this.config.numDecoderLayers }, (_, i) => i);
  }
}

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
