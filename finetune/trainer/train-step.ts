import type { T5Config } from '../../runtime/checkpoint/t5-config.ts';
import { gradName } from '../../runtime/graph/autodiff.ts';
import { serializeModel } from '../../runtime/graph/onnx-serialize.ts';
import { buildT5TrainGraph, trainInputs, type TrainGraphOptions } from '../../runtime/graph/t5-train-graph.ts';
import { createSession, int64Feed, ort, type SessionConfig } from '../../runtime/onnx-session.ts';

/** A batch of token ids, rows padded to one length. Packed batches carry segments and positions. */
export interface TrainBatch {
  inputIds: number[][];
  decoderInputIds: number[][];
  /** -100 where no loss is taken. */
  labels: number[][];
  attentionMask?: number[][];
  encoderSegmentIds?: number[][];
  encoderPositions?: number[][];
  decoderSegmentIds?: number[][];
  decoderPositions?: number[][];
}

export interface StepResult {
  loss: number;
  /** [B, T] row-major, 0 at ignored labels. */
  tokenLosses: Float32Array;
  grads: Map<string, Float32Array>;
}

/**
 * One onnxruntime session over the train-step graph: parameters and a batch in, the loss and the
 * gradients of the trainable parameters out. It holds no weights; the trainer owns them.
 */
export class TrainStepSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly params: Map<string, number[]>,
    readonly trainable: string[],
    readonly packed: boolean,
  ) {}

  static async create(cfg: T5Config, options: TrainGraphOptions, session: SessionConfig): Promise<TrainStepSession> {
    const built = buildT5TrainGraph(cfg, options);
    const ort = await createSession(serializeModel(built.graph), session);
    return new TrainStepSession(ort, built.params, built.trainable, options.packed ?? false);
  }

  async run(weights: ReadonlyMap<string, Float32Array>, batch: TrainBatch): Promise<StepResult> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, shape] of this.params) {
      const data = weights.get(name);
      if (!data) throw new Error(`train step: no values for parameter ${name}`);
      feeds[name] = new ort.Tensor('float32', data, shape);
    }
    feeds[trainInputs.inputIds] = int64Feed(batch.inputIds);
    feeds[trainInputs.decoderInputIds] = int64Feed(batch.decoderInputIds);
    feeds[trainInputs.labels] = int64Feed(batch.labels);
    const extra = (name: string, rows: number[][] | undefined) => {
      if (!rows) throw new Error(`train step: the batch has no ${name}`);
      feeds[name] = int64Feed(rows);
    };
    if (this.packed) {
      if (!batch.encoderSegmentIds) batch = asOneSegmentPerRow(batch);
      extra(trainInputs.encoderSegmentIds, batch.encoderSegmentIds);
      extra(trainInputs.encoderPositions, batch.encoderPositions);
      extra(trainInputs.decoderSegmentIds, batch.decoderSegmentIds);
      extra(trainInputs.decoderPositions, batch.decoderPositions);
    } else {
      extra(trainInputs.attentionMask, batch.attentionMask);
    }
    const out = await this.session.run(feeds);
    const grads = new Map<string, Float32Array>();
    for (const name of this.trainable) grads.set(name, (out[gradName(name)] as ort.Tensor).data as Float32Array);
    return {
      loss: (out.loss as ort.Tensor).data[0] as number,
      tokenLosses: (out.token_losses as ort.Tensor).data as Float32Array,
      grads,
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * A padded batch in the packed graph's terms: each row one segment, positions from 0. Every decoder
 * position is in the segment, as Hugging Face gives the decoder no padding mask (causality suffices).
 */
function asOneSegmentPerRow(batch: TrainBatch): TrainBatch {
  if (!batch.attentionMask) throw new Error('train step: a batch needs an attention mask or segment ids');
  const positions = (rows: number[][]) => rows.map((row) => row.map((_, i) => i));
  return {
    ...batch,
    encoderSegmentIds: batch.attentionMask,
    encoderPositions: positions(batch.inputIds),
    decoderSegmentIds: batch.decoderInputIds.map((row) => row.map(() => 1)),
    decoderPositions: positions(batch.decoderInputIds),
  };
}
