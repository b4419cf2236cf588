import type { T5Config } from '../checkpoint/t5-config.ts';
import { expectedT5WeightShapes } from '../checkpoint/t5-weights.ts';
import { appendGradients, gradName } from './autodiff.ts';
import { GraphBuilder } from './graph-builder.ts';
import { attr, type Graph } from './ir.ts';
import {
  crossKeyValues,
  decoderSelfBias,
  lmHead,
  MASKED,
  paddingBias,
  positionBias,
  relativePositionBucket,
  t5Decoder,
  t5Encoder,
  type T5Params,
} from './t5-layers.ts';

/**
 * The T5 train step as one graph: parameters (HF layout, [out, in] linear weights) and a batch in;
 * the loss, per-token losses and d loss / d parameter out. The loss is Hugging Face's: cross-entropy
 * averaged over the label tokens that are not -100. No dropout: the step is deterministic.
 */

export interface LoraSpec {
  rank: number;
  alpha: number;
  /** Module names matched against the last part of a linear layer's name, as PEFT's target_modules. */
  targets: string[];
}

export interface TrainGraphOptions {
  /** Train these base weights (default: all of them, or none when lora is given). */
  trainable?: readonly string[];
  lora?: LoraSpec;
  /**
   * Packed rows: several examples per row, described by segment ids (1, 2, ... per example, 0 for
   * padding) and positions that restart at 0 for each example. No example attends to another.
   */
  packed?: boolean;
}

export interface TrainGraph {
  graph: Graph;
  /** Every parameter input, with its shape: base weights, then LoRA factors. */
  params: Map<string, number[]>;
  /** The parameters that have a grad.<name> output, in output order. */
  trainable: string[];
}

export const trainInputs = {
  inputIds: 'input_ids', // [B, S]
  attentionMask: 'attention_mask', // [B, S]; unpacked only
  decoderInputIds: 'decoder_input_ids', // [B, T]
  labels: 'labels', // [B, T], -100 ignored
  encoderSegmentIds: 'encoder_segment_ids', // packed only, [B, S]
  encoderPositions: 'encoder_positions',
  decoderSegmentIds: 'decoder_segment_ids', // packed only, [B, T]
  decoderPositions: 'decoder_positions',
};

export const IGNORE_INDEX = -100;

/** The two LoRA factors of linear layer `weight` (PEFT naming): A [r, in], B [out, r]. */
export function loraNames(weight: string): { a: string; b: string } {
  const module = weight.replace(/\.weight$/, '');
  return { a: `${module}.lora_A.weight`, b: `${module}.lora_B.weight` };
}

export function isLoraTarget(weight: string, lora: LoraSpec): boolean {
  const parts = weight.split('.');
  // Only attention and feed-forward projections; the embedding and head stay as they are.
  return parts.length >= 3 && parts[parts.length - 1] === 'weight' && lora.targets.includes(parts[parts.length - 2]) && !weight.startsWith('shared') && !weight.startsWith('lm_head');
}

export function buildT5TrainGraph(cfg: T5Config, options: TrainGraphOptions = {}): TrainGraph {
  const g = new GraphBuilder('t5_train_step');
  const base = expectedT5WeightShapes(cfg);
  const params = new Map(base);
  const { lora } = options;
  if (lora) {
    for (const [name, [out, inner]] of base) {
      if (!isLoraTarget(name, lora)) continue;
      const { a, b } = loraNames(name);
      params.set(a, [lora.rank, inner]);
      params.set(b, [out, lora.rank]);
    }
  }
  for (const [name, shape] of params) g.input(name, 'float32', shape);
  const trainable = options.trainable
    ? [...options.trainable]
    : lora
      ? [...params.keys()].filter((n) => !base.has(n))
      : [...base.keys()];
  for (const t of trainable) if (!params.has(t)) throw new Error(`buildT5TrainGraph: unknown parameter ${t}`);

  const p = trainingParams(g, params, lora);
  const ids = g.input(trainInputs.inputIds, 'int64', ['batch', 'source']);
  const decoderIds = g.input(trainInputs.decoderInputIds, 'int64', ['batch', 'target']);
  const labels = g.input(trainInputs.labels, 'int64', ['batch', 'target']);

  let encoderStates: string;
  let selfBias: string;
  let crossBias: string;
  if (options.packed) {
    const encSeg = g.input(trainInputs.encoderSegmentIds, 'int64', ['batch', 'source']);
    const encPos = g.input(trainInputs.encoderPositions, 'int64', ['batch', 'source']);
    const decSeg = g.input(trainInputs.decoderSegmentIds, 'int64', ['batch', 'target']);
    const decPos = g.input(trainInputs.decoderPositions, 'int64', ['batch', 'target']);
    const encValid = g.cast(g.greater(encSeg, g.constInt64(0)), 'int64');
    const encBias = g.scope('encoder.position_bias', () => {
      const relative = g.sub(g.unsqueeze(encPos, [1]), g.unsqueeze(encPos, [2])); // [B, S(query), S(key)]
      const buckets = relativePositionBucket(g, cfg, relative, true);
      const table = p.tensor('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
      return g.add(positionBias(g, table, buckets, true), segmentBias(g, encSeg, encSeg));
    });
    encoderStates = t5Encoder(g, cfg, p, { ids }, encValid, encBias);
    const decValid = g.cast(g.greater(decSeg, g.constInt64(0)), 'int64');
    selfBias = g.add(decoderSelfBias(g, cfg, p, decPos, decPos, decValid), segmentBias(g, decSeg, decSeg));
    crossBias = segmentBias(g, decSeg, encSeg);
  } else {
    const mask = g.input(trainInputs.attentionMask, 'int64', ['batch', 'source']);
    encoderStates = t5Encoder(g, cfg, p, { ids }, mask);
    const length = g.op('Squeeze', [g.dim(decoderIds, 1), g.constInt64([0])]);
    const positions = g.unsqueeze(g.op('Range', [g.constInt64(0), length, g.constInt64(1)]), [0]); // [1, T]
    // Hugging Face passes no decoder mask when training: every earlier target position is attended.
    const allKeys = g.cast(g.greater(positions, g.constInt64(-1)), 'int64');
    selfBias = decoderSelfBias(g, cfg, p, positions, positions, allKeys);
    crossBias = paddingBias(g, mask);
  }

  const cross = crossKeyValues(g, cfg, p, encoderStates);
  const { hidden } = t5Decoder(g, cfg, p, { tokens: { ids: decoderIds }, selfBias, cross, crossBias });
  const logits = lmHead(g, cfg, p, hidden); // [B, T, V]
  const { loss, tokenLosses } = g.scope('loss', () => crossEntropy(g, cfg, logits, labels));

  const grads = appendGradients(g, loss, trainable);
  g.output(loss, 'loss', 'float32', []);
  g.output(tokenLosses, 'token_losses', 'float32', ['batch', 'target']);
  for (const t of trainable) g.output(grads.get(t)!, gradName(t), 'float32', params.get(t)!);
  return { graph: g.build(), params, trainable };
}

/** Parameters as graph inputs; linear weights are transposed in the graph, once per use site. */
function trainingParams(g: GraphBuilder, shapes: ReadonlyMap<string, number[]>, lora: LoraSpec | undefined): T5Params {
  const transposed = new Map<string, string>();
  const linear = (name: string) => {
    let t = transposed.get(name);
    if (t === undefined) transposed.set(name, (t = g.transpose(name, [1, 0])));
    return t;
  };
  if (!lora) {
    return {
      linear,
      tensor: (name) => name,
      // Layers sharing an input (q/k/v, the gated halves) run as one wider MatMul, as in inference;
      // the Concat's gradient splits the weight gradient back per layer.
      fusedLinear: (names) => ({
        weight: g.concat(names.map(linear), 1),
        sizes: names.map((n) => shapes.get(n)![0]),
      }),
    };
  }
  const scale = lora.alpha / lora.rank;
  return {
    linear,
    tensor: (name) => name,
    project(x, name) {
      const frozen = g.matmul(x, linear(name));
      if (!isLoraTarget(name, lora)) return frozen;
      // x W^T + (alpha / r) x A^T B^T: the low-rank path runs beside the frozen weight, so no
      // [out, in] update matrix and no gradient for the frozen weight is ever formed.
      const { a, b } = loraNames(name);
      const low = g.matmul(g.matmul(x, linear(a)), linear(b));
      return g.add(frozen, g.mul(low, g.constFloat(scale)));
    },
  };
}

/** Additive bias [B, 1, Q, K]: 0 where query and key are in the same example (segment > 0). */
function segmentBias(g: GraphBuilder, querySegments: string, keySegments: string): string {
  const same = g.op('Equal', [g.unsqueeze(querySegments, [2]), g.unsqueeze(keySegments, [1])]);
  const real = g.greater(g.unsqueeze(keySegments, [1]), g.constInt64(0));
  return g.unsqueeze(g.where(g.and(same, real), g.constFloat(0), g.constFloat(MASKED)), [1]);
}

/** Cross-entropy per label token (0 where ignored) and its mean over the counted tokens. */
function crossEntropy(g: GraphBuilder, cfg: T5Config, logits: string, labels: string): { loss: string; tokenLosses: string } {
  const scores = g.reshape(logits, [-1, cfg.vocabSize]);
  const flatLabels = g.reshape(labels, [-1]);
  const perToken = g.op('SoftmaxCrossEntropyLoss', [scores, flatLabels], {
    reduction: attr.string('none'),
    ignore_index: attr.int(IGNORE_INDEX),
  });
  const counted = g.cast(g.op('Not', [g.op('Equal', [flatLabels, g.constInt64(IGNORE_INDEX)])]), 'float32');
  const total = g.op('ReduceSum', [perToken], { keepdims: attr.int(0) });
  const loss = g.div(total, g.op('ReduceSum', [counted], { keepdims: attr.int(0) }));
  return { loss, tokenLosses: g.reshapeTo(perToken, g.shape(labels)) };
}
