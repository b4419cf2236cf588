import type { T5Config } from '../checkpoint/t5-config.ts';
import type { GraphBuilder } from './graph-builder.ts';
import { attr } from './ir.ts';

/**
 * The T5 building blocks, written once over the graph builder, in Hugging Face's semantics:
 * RMSNorm without mean or bias, attention without score scaling, relative position buckets shared
 * by all layers of a stack, gated or plain feed-forward. Inference graphs, training graphs and the
 * export all assemble these.
 */

/** Where parameters come from: initializers for inference, graph inputs for training. */
export interface T5Params {
  /** A linear layer's HF weight [out, in], returned as [in, out] so that `x @ w` is the layer. */
  linear(name: string): string;
  /** Tensors used as stored: norm weights, embedding tables, relative attention bias tables. */
  tensor(name: string): string;
  /**
   * Optional: applies the linear layer `name` to x ([..., in] -> [..., out]). Training uses it to add
   * LoRA's low-rank path beside a frozen weight; without it a layer is `x @ linear(name)`.
   */
  project?(x: string, name: string): string;
  /**
   * Optional: the [in, out1 + out2 + ...] concatenation of several linear layers' weights. Inference
   * uses it to run layers that share an input (q/k/v, the two gated halves) as one larger MatMul, which
   * keeps the CPU's GEMM busier than several thin ones.
   */
  fusedLinear?(names: string[]): { weight: string; sizes: number[] };
  /**
   * Optional: a low-rank update to add to linear layer `name`'s output for x (undefined: none). Serving
   * uses it for LoRA adapters chosen per row, so the base weights stay shared by every row of a batch.
   */
  lowRank?(x: string, name: string): string | undefined;
}

/** y plus the params' low-rank update of layer `name` for input x, when they have one. */
function withLowRank(g: GraphBuilder, p: T5Params, x: string, name: string, y: string): string {
  const delta = p.lowRank?.(x, name);
  return delta ? g.add(y, delta) : y;
}

/** x through the linear layer `name`, by the params' own projection when they define one. */
export function linearLayer(g: GraphBuilder, p: T5Params, x: string, name: string): string {
  return withLowRank(g, p, x, name, p.project ? p.project(x, name) : g.matmul(x, p.linear(name)));
}

/** x through several linear layers at once: one MatMul and a Split where the params can fuse them. */
export function linearLayers(g: GraphBuilder, p: T5Params, x: string, names: string[]): string[] {
  if (!p.fusedLinear || p.project) return names.map((name) => linearLayer(g, p, x, name));
  const { weight, sizes } = p.fusedLinear(names);
  const parts = g.opMulti('Split', [g.matmul(x, weight), g.constInt64(sizes)], names.length, { axis: attr.int(-1) });
  return parts.map((y, i) => withLowRank(g, p, x, names[i], y));
}

/**
 * A stack's tokens: ids looked up in the shared embedding table inside the graph, or their embeddings
 * [B, T, D] fed as an input. A served CPU model feeds them: its encoder and decoder graphs would each
 * hold their own copy of the table (66 MiB at flan-t5-small), where the runner keeps one.
 */
export type TokenInput = { ids: string } | { embeddings: string };

export function tokenEmbeddings(g: GraphBuilder, p: T5Params, tokens: TokenInput): string {
  return 'ids' in tokens ? g.gather(p.tensor('shared.weight'), tokens.ids) : tokens.embeddings;
}

/** Large negative instead of -inf: masked scores vanish in softmax while sums of masks stay finite. */
export const MASKED = -1e9;

export function rmsNorm(g: GraphBuilder, cfg: T5Config, x: string, weight: string): string {
  // Pow -> ReduceMean -> Add -> Sqrt -> Div -> Mul is the pattern onnxruntime fuses into one kernel.
  const variance = g.reduceMean(g.pow(x, g.constFloat(2)), [-1]);
  const normed = g.div(x, g.sqrt(g.add(variance, g.constFloat(cfg.layerNormEpsilon))));
  return g.mul(normed, weight);
}

export function activation(g: GraphBuilder, cfg: T5Config, x: string): string {
  switch (cfg.activation) {
    case 'relu':
      return g.relu(x);
    case 'gelu': {
      const erf = g.op('Erf', [g.div(x, g.constFloat(Math.SQRT2))]);
      return g.mul(g.mul(x, g.constFloat(0.5)), g.add(erf, g.constFloat(1)));
    }
    case 'gelu_new': {
      // HF's NewGELUActivation: the tanh approximation used by every Flan-T5 checkpoint.
      const cube = g.pow(x, g.constFloat(3));
      const inner = g.mul(g.add(x, g.mul(cube, g.constFloat(0.044715))), g.constFloat(Math.sqrt(2 / Math.PI)));
      return g.mul(g.mul(x, g.constFloat(0.5)), g.add(g.tanh(inner), g.constFloat(1)));
    }
  }
}

export function feedForward(g: GraphBuilder, cfg: T5Config, p: T5Params, prefix: string, x: string): string {
  let hidden: string;
  if (cfg.isGated) {
    const [gate, linear] = linearLayers(g, p, x, [`${prefix}.wi_0.weight`, `${prefix}.wi_1.weight`]);
    hidden = g.mul(activation(g, cfg, gate), linear);
  } else {
    hidden = activation(g, cfg, linearLayer(g, p, x, `${prefix}.wi.weight`));
  }
  return linearLayer(g, p, hidden, `${prefix}.wo.weight`);
}

/** [B, T, H*dk] -> [B, H, T, dk] */
export function splitHeads(g: GraphBuilder, cfg: T5Config, x: string): string {
  return g.transpose(g.reshape(x, [0, 0, cfg.numHeads, cfg.dKv]), [0, 2, 1, 3]);
}

/** Projects x with one of q/k/v and splits heads. */
export function projectHeads(g: GraphBuilder, cfg: T5Config, p: T5Params, weight: string, x: string): string {
  return splitHeads(g, cfg, linearLayer(g, p, x, weight));
}

/** Projects x with several of q/k/v (fused where the params allow) and splits heads. */
export function projectManyHeads(g: GraphBuilder, cfg: T5Config, p: T5Params, weights: string[], x: string): string[] {
  return linearLayers(g, p, x, weights).map((y) => splitHeads(g, cfg, y));
}

/**
 * Scaled-dot-product attention without the scaling (T5 folds it into the initialisation).
 * q: [B, H, T, dk], k and v: [B, H, S, dk], bias broadcastable to [B, H, T, S]. Returns [B, T, H*dk].
 */
export function attend(g: GraphBuilder, cfg: T5Config, q: string, k: string, v: string, bias: string): string {
  const scores = g.add(g.matmul(q, g.transpose(k, [0, 1, 3, 2])), bias);
  const context = g.matmul(g.softmax(scores, -1), v);
  return g.reshape(g.transpose(context, [0, 2, 1, 3]), [0, 0, cfg.numHeads * cfg.dKv]);
}

/**
 * HF's _relative_position_bucket over an int64 tensor of (key position - query position).
 * Bidirectional for the encoder; causal (only the past is bucketed) for the decoder.
 *
 * The bucket of every distance up to a reach is computed from constants, which onnxruntime folds into a
 * table when it loads the graph; a run only clamps the distances and looks them up (int64 ops alone).
 * Computed per run, the formula's float part (Log, Div, Mul) went to the GPU provider while its int64
 * arithmetic stayed on the CPU, and the decoder step copied a tensor back to the host mid-run on WebGPU:
 * a wait for the device before every step's first layer. The table comes from the same ops on the same
 * CPU kernels as before, so the buckets are the same.
 */
export function relativePositionBucket(g: GraphBuilder, cfg: T5Config, relative: string, bidirectional: boolean): string {
  const numBuckets = bidirectional ? Math.floor(cfg.relativeAttentionNumBuckets / 2) : cfg.relativeAttentionNumBuckets;
  const reach = bucketTableReach(numBuckets, cfg.relativeAttentionMaxDistance);
  const fromRelative = (rel: string) => relativePositionBucketFormula(g, cfg, rel, bidirectional);
  if (reach > MAX_BUCKET_TABLE_REACH) return fromRelative(relative);
  if (bidirectional) {
    // Relative positions -reach..reach, looked up at relative + reach.
    const table = fromRelative(g.constInt64(Array.from({ length: 2 * reach + 1 }, (_, i) => i - reach)));
    const clamped = g.min(g.max(relative, g.constInt64(-reach)), g.constInt64(reach));
    return g.gather(table, g.add(clamped, g.constInt64(reach)));
  }
  // Relative positions 0, -1, ..., -reach, looked up at the distance -relative.
  const table = fromRelative(g.constInt64(Array.from({ length: reach + 1 }, (_, i) => -i)));
  const distance = g.sub(g.constInt64(0), g.max(g.min(relative, g.constInt64(0)), g.constInt64(-reach)));
  return g.gather(table, distance);
}

/**
 * Past this reach the table would be large, and the buckets are computed at each run instead: only a
 * bucketing far wider than T5's (32 buckets to 128 positions: a reach of 256) gets there.
 */
const MAX_BUCKET_TABLE_REACH = 1 << 14;

/**
 * A distance past which every bucket is the last one: the formula there is at least two buckets past
 * it before the clamp, far beyond float32's rounding of the log, so clamping distances to the reach
 * changes no bucket.
 */
function bucketTableReach(numBuckets: number, maxDistance: number): number {
  const maxExact = Math.floor(numBuckets / 2);
  let reach = 2 * maxDistance;
  const lastBucketReached = () => (numBuckets - maxExact) * (Math.log(reach / maxExact) / Math.log(maxDistance / maxExact)) >= numBuckets - maxExact + 2;
  // Past the cap (or for a maximum distance inside the exact range, which never reaches it) the caller computes per run.
  while (!lastBucketReached() && reach <= MAX_BUCKET_TABLE_REACH) reach *= 2;
  return reach;
}

/** HF's formula itself, computed over `relative` at each run: what the table is made of. */
export function relativePositionBucketFormula(g: GraphBuilder, cfg: T5Config, relative: string, bidirectional: boolean): string {
  return bidirectional ? bidirectionalBucket(g, cfg, relative) : causalBucket(g, cfg, relative);
}

function bidirectionalBucket(g: GraphBuilder, cfg: T5Config, relative: string): string {
  const numBuckets = Math.floor(cfg.relativeAttentionNumBuckets / 2);
  const offset = g.mul(g.cast(g.greater(relative, g.constInt64(0)), 'int64'), g.constInt64(numBuckets));
  return g.add(bucketOfDistance(g, cfg, g.abs(relative), numBuckets), offset);
}

function causalBucket(g: GraphBuilder, cfg: T5Config, relative: string): string {
  const zero = g.constInt64(0);
  return bucketOfDistance(g, cfg, g.sub(zero, g.min(relative, zero)), cfg.relativeAttentionNumBuckets);
}

/** HF's bucket of a distance >= 0: exact below half the buckets, logarithmic up to the maximum distance. */
function bucketOfDistance(g: GraphBuilder, cfg: T5Config, distance: string, numBuckets: number): string {
  const maxExact = Math.floor(numBuckets / 2);
  const isSmall = g.less(distance, g.constInt64(maxExact));
  // log(0) would be -inf; those positions take the is_small branch, so clamp to keep the math finite.
  const distanceF = g.cast(g.max(distance, g.constInt64(1)), 'float32');
  const scaled = g.mul(
    g.div(g.log(g.div(distanceF, g.constFloat(maxExact))), g.constFloat(Math.log(cfg.relativeAttentionMaxDistance / maxExact))),
    g.constFloat(numBuckets - maxExact),
  );
  const large = g.min(g.add(g.cast(scaled, 'int64'), g.constInt64(maxExact)), g.constInt64(numBuckets - 1));
  return g.where(isSmall, distance, large);
}

/** Looks up the bias table [buckets, H] for bucket ids [..., T, S] and returns [..., H, T, S]. */
export function positionBias(g: GraphBuilder, table: string, buckets: string, batched: boolean): string {
  const gathered = g.gather(table, buckets); // [(B,) T, S, H]
  return batched ? g.transpose(gathered, [0, 3, 1, 2]) : g.unsqueeze(g.transpose(gathered, [2, 0, 1]), [0]);
}

/** An int64 0/1 mask [B, S] as an additive bias [B, 1, 1, S]. */
export function paddingBias(g: GraphBuilder, mask: string): string {
  const masked = g.sub(g.constFloat(1), g.cast(mask, 'float32'));
  return g.unsqueeze(g.mul(masked, g.constFloat(MASKED)), [1, 2]);
}

/**
 * The encoder stack: token ids [B, S] and mask [B, S] to last_hidden_state [B, S, D]. `selfBias`, when
 * given, replaces the bias built from positions 0..S-1 and the mask: packed training rows hold several
 * examples, each with its own positions and attending only to itself (see encoderSegmentBias).
 */
export function t5Encoder(g: GraphBuilder, cfg: T5Config, p: T5Params, tokens: TokenInput, mask: string, selfBias?: string): string {
  let h = tokenEmbeddings(g, p, tokens);
  const bias = selfBias ?? g.scope('encoder.position_bias', () => {
    const length = g.op('Squeeze', [g.dim(h, 1), g.constInt64([0])]);
    const positions = g.op('Range', [g.constInt64(0), length, g.constInt64(1)]);
    const relative = g.sub(g.unsqueeze(positions, [0]), g.unsqueeze(positions, [1])); // key - query
    const buckets = relativePositionBucket(g, cfg, relative, true);
    const table = p.tensor('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
    return g.add(positionBias(g, table, buckets, false), paddingBias(g, mask));
  });
  for (let i = 0; i < cfg.numLayers; i++) {
    const block = `encoder.block.${i}`;
    h = g.scope(block, () => {
      const attnPrefix = `${block}.layer.0.SelfAttention`;
      const x = rmsNorm(g, cfg, h, p.tensor(`${block}.layer.0.layer_norm.weight`));
      const [q, k, v] = projectManyHeads(g, cfg, p, ['q', 'k', 'v'].map((w) => `${attnPrefix}.${w}.weight`), x);
      const attn = linearLayer(g, p, attend(g, cfg, q, k, v, bias), `${attnPrefix}.o.weight`);
      const afterAttn = g.add(h, attn);
      const y = rmsNorm(g, cfg, afterAttn, p.tensor(`${block}.layer.1.layer_norm.weight`));
      return g.add(afterAttn, feedForward(g, cfg, p, `${block}.layer.1.DenseReluDense`, y));
    });
  }
  return rmsNorm(g, cfg, h, p.tensor('encoder.final_layer_norm.weight'));
}

export interface KeyValue {
  key: string;
  value: string;
}

/** The cross-attention keys and values of every decoder layer, computed once per request. */
export function crossKeyValues(g: GraphBuilder, cfg: T5Config, p: T5Params, encoderStates: string): KeyValue[] {
  return Array.from({ length: cfg.numDecoderLayers }, (_, i) =>
    g.scope(`decoder.block.${i}.cross_kv`, () => {
      const prefix = `decoder.block.${i}.layer.1.EncDecAttention`;
      const [key, value] = projectManyHeads(g, cfg, p, [`${prefix}.k.weight`, `${prefix}.v.weight`], encoderStates);
      return { key, value };
    }),
  );
}

/**
 * Decoder self-attention bias [B, H, T, K] for new tokens at queryPositions [B, T] against key slots at
 * keyPositions [B, K] whose validity is keyMask [B, K]. Positions are explicit because rows of a
 * continuous batch sit at different lengths; causality is key position <= query position.
 */
export function decoderSelfBias(
  g: GraphBuilder,
  cfg: T5Config,
  p: T5Params,
  queryPositions: string,
  keyPositions: string,
  keyMask: string,
): string {
  return g.scope('decoder.position_bias', () => {
    const keys = g.unsqueeze(keyPositions, [1]); // [B, 1, K]
    const queries = g.unsqueeze(queryPositions, [2]); // [B, T, 1]
    const buckets = relativePositionBucket(g, cfg, g.sub(keys, queries), false);
    const table = p.tensor('decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
    const bias = positionBias(g, table, buckets, true);
    const allowed = g.and(g.lessOrEqual(keys, queries), g.cast(g.unsqueeze(keyMask, [1]), 'bool'));
    const maskBias = g.where(allowed, g.constFloat(0), g.constFloat(MASKED)); // [B, T, K]
    return g.add(bias, g.unsqueeze(maskBias, [1]));
  });
}

export interface DecoderInputs {
  tokens: TokenInput; // ids [B, T] or embeddings [B, T, D]
  selfBias: string; // [B, H, T, P+T]
  cross: KeyValue[]; // per layer, [B, H, S, dk]
  crossBias: string; // [B, 1, 1, S]
  past?: KeyValue[]; // per layer, [B, H, P, dk]
  /**
   * Attend to the past in place instead of concatenating it with the new keys: `present` then holds
   * only the new tokens' keys and values, and the caller appends them to a cache it owns. This saves
   * copying the whole cache into and out of the runtime on every step.
   */
  keepPastApart?: boolean;
}

/**
 * Attention over a past that stays where it is plus the new keys: the two score blocks are joined
 * (small: [B, H, T, P] and [B, H, T, T]) instead of the two key/value tensors (large).
 */
export function attendWithPast(
  g: GraphBuilder,
  cfg: T5Config,
  q: string,
  past: KeyValue,
  k: string,
  v: string,
  bias: string,
): string {
  const pastScores = g.matmul(q, g.transpose(past.key, [0, 1, 3, 2]));
  const newScores = g.matmul(q, g.transpose(k, [0, 1, 3, 2]));
  const probs = g.softmax(g.add(g.concat([pastScores, newScores], 3), bias), -1);
  const pastLength = g.dim(past.key, 2);
  const end = g.constInt64([2 ** 62]);
  const axis = g.constInt64([3]);
  const pastProbs = g.op('Slice', [probs, g.constInt64([0]), pastLength, axis]);
  const newProbs = g.op('Slice', [probs, pastLength, end, axis]);
  const context = g.add(g.matmul(pastProbs, past.value), g.matmul(newProbs, v));
  return g.reshape(g.transpose(context, [0, 2, 1, 3]), [0, 0, cfg.numHeads * cfg.dKv]);
}

/** The decoder stack; returns the final hidden states [B, T, D] and each layer's present keys/values. */
export function t5Decoder(
  g: GraphBuilder,
  cfg: T5Config,
  p: T5Params,
  inputs: DecoderInputs,
): { hidden: string; present: KeyValue[] } {
  let h = tokenEmbeddings(g, p, inputs.tokens);
  const present: KeyValue[] = [];
  for (let i = 0; i < cfg.numDecoderLayers; i++) {
    const block = `decoder.block.${i}`;
    h = g.scope(block, () => {
      const self = `${block}.layer.0.SelfAttention`;
      const x = rmsNorm(g, cfg, h, p.tensor(`${block}.layer.0.layer_norm.weight`));
      const [q, newKey, newValue] = projectManyHeads(g, cfg, p, ['q', 'k', 'v'].map((w) => `${self}.${w}.weight`), x);
      let k = newKey;
      let v = newValue;
      const past = inputs.past?.[i];
      let context: string;
      if (past && inputs.keepPastApart) {
        context = attendWithPast(g, cfg, q, past, k, v, inputs.selfBias);
      } else {
        if (past) {
          k = g.concat([past.key, k], 2);
          v = g.concat([past.value, v], 2);
        }
        context = attend(g, cfg, q, k, v, inputs.selfBias);
      }
      present.push({ key: k, value: v });
      const selfAttn = linearLayer(g, p, context, `${self}.o.weight`);
      const afterSelf = g.add(h, selfAttn);

      const cross = `${block}.layer.1.EncDecAttention`;
      const y = rmsNorm(g, cfg, afterSelf, p.tensor(`${block}.layer.1.layer_norm.weight`));
      const cq = projectHeads(g, cfg, p, `${cross}.q.weight`, y);
      const { key, value } = inputs.cross[i];
      const crossAttn = linearLayer(g, p, attend(g, cfg, cq, key, value, inputs.crossBias), `${cross}.o.weight`);
      const afterCross = g.add(afterSelf, crossAttn);

      const z = rmsNorm(g, cfg, afterCross, p.tensor(`${block}.layer.2.layer_norm.weight`));
      return g.add(afterCross, feedForward(g, cfg, p, `${block}.layer.2.DenseReluDense`, z));
    });
  }
  return { hidden: rmsNorm(g, cfg, h, p.tensor('decoder.final_layer_norm.weight')), present };
}

/**
 * Vocabulary logits. Which matrix is the head and whether the output is scaled by d_model^-0.5 are
 * separate: v1.0 is tied and scaled, v1.1 untied and unscaled, and transformers 5.x writes v1.1-style
 * models that are tied and unscaled.
 */
export function lmHead(g: GraphBuilder, cfg: T5Config, p: T5Params, hidden: string): string {
  return g.matmul(lmHeadInput(g, cfg, hidden), p.linear(lmHeadWeightName(cfg)));
}

/** What the LM head multiplies: the decoder's output, scaled where the checkpoint ties it to the embeddings. */
export function lmHeadInput(g: GraphBuilder, cfg: T5Config, hidden: string): string {
  return cfg.scaleDecoderOutputs ? g.mul(hidden, g.constFloat(cfg.dModel ** -0.5)) : hidden;
}

/** The LM head's weight [V, D] in the checkpoint. */
export function lmHeadWeightName(cfg: T5Config): string {
  return cfg.tieWordEmbeddings ? 'shared.weight' : 'lm_head.weight';
}
