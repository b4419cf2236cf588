import type { T5Config } from '../checkpoint/t5-config.ts';
import type { T5Weights } from '../checkpoint/t5-weights.ts';
import { adapterParams } from './adapter-params.ts';
import { GraphBuilder } from './graph-builder.ts';
import { attr, type Graph, type Tensor } from './ir.ts';
import { toIntegerGemm, type WeightLevels } from './quantize-weights.ts';
import {
  crossKeyValues,
  decoderSelfBias,
  lmHead,
  lmHeadInput,
  lmHeadWeightName,
  paddingBias,
  t5Decoder,
  t5Encoder,
  type KeyValue,
  type T5Params,
  type TokenInput,
} from './t5-layers.ts';

/**
 * The three inference graphs a served T5 model runs: the encoder (once per prompt), the
 * cross-attention K/V projection (once per request), and one decoder step over a batch that carries a
 * self-attention KV cache (the cache in, the new tokens' keys and values out). Weights are initializers.
 */

export const decoderNames = {
  pastKey: (i: number) => `past.${i}.key`,
  pastValue: (i: number) => `past.${i}.value`,
  newKey: (i: number) => `new.${i}.key`,
  newValue: (i: number) => `new.${i}.value`,
  presentKey: (i: number) => `present.${i}.key`,
  presentValue: (i: number) => `present.${i}.value`,
  crossKey: (i: number) => `cross.${i}.key`,
  crossValue: (i: number) => `cross.${i}.value`,
};

/**
 * Parameters as initializers; linear weights are stored pre-transposed so no Transpose runs per step.
 * `fuse: false` leaves out fusedLinear: over a whole prompt (thousands of rows) each MatMul already keeps
 * the GEMM busy, and the Split after a fused one copies its output (the encoder of 32 x 64 tokens, 16
 * Splits: 91 of 700 ms; unfused 442-465 against 485-486 ms, fastest of 7 passes, flan-t5-small shape).
 */
export function initializerParams(g: GraphBuilder, weights: T5Weights, fuse = true): T5Params {
  const get = (name: string) => {
    const w = weights.get(name);
    if (!w) throw new Error(`weight ${name} is missing`);
    return w;
  };
  return {
    linear(name) {
      const key = `${name}.T`;
      if (!g.initializers.has(key)) g.initializer(key, transposed(get(name)));
      return key;
    },
    ...(fuse ? { fusedLinear: (names: string[]) => fusedInitializer(g, names.map(get), `${names.join('+')}.T`) } : {}),
    tensor(name) {
      if (!g.initializers.has(name)) {
        const w = get(name);
        g.initializer(name, { dtype: 'float32', shape: w.shape, data: w.data });
      }
      return name;
    },
  };
}

/** Several linear layers' weights as one [in, sum(out_i)] initializer, and each layer's width. */
function fusedInitializer(g: GraphBuilder, parts: { shape: number[]; data: Float32Array }[], key: string): { weight: string; sizes: number[] } {
  if (!g.initializers.has(key)) g.initializer(key, transposedConcat(parts));
  return { weight: key, sizes: parts.map((w) => w.shape[0]) };
}

function transposed(w: { shape: number[]; data: Float32Array }): Tensor {
  return transposedConcat([w]);
}

/** HF weights [out_i, in] stacked along out, transposed to [in, sum(out_i)]. */
function transposedConcat(ws: { shape: number[]; data: Float32Array }[]): Tensor {
  const cols = ws[0].shape[1];
  const total = ws.reduce((n, w) => n + w.shape[0], 0);
  const out = new Float32Array(cols * total);
  let offset = 0;
  for (const w of ws) {
    const rows = w.shape[0];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[c * total + offset + r] = w.data[r * cols + c];
    }
    offset += rows;
  }
  return { dtype: 'float32', shape: [cols, total], data: out };
}

/** Options of the served graphs. */
export interface ServedGraphOptions {
  /**
   * Take the tokens' embeddings as `inputs_embeds` [B, T, D] instead of `input_ids` [B, T]: the graph
   * then holds no embedding table (see TokenInput).
   */
  feedEmbeddings?: boolean;
}

/** The graph's token input: `input_ids` or, when fed, `inputs_embeds` (Hugging Face's names). */
function tokenInput(g: GraphBuilder, cfg: T5Config, length: string, opts: ServedGraphOptions): TokenInput {
  return opts.feedEmbeddings
    ? { embeddings: g.input('inputs_embeds', 'float32', ['batch', length, cfg.dModel]) }
    : { ids: g.input('input_ids', 'int64', ['batch', length]) };
}

/** `adapterTargets`: the modules that take a per-row LoRA adapter (see adapter-params.ts); none without. */
export function buildEncoderGraph(cfg: T5Config, weights: T5Weights, adapterTargets?: readonly string[], opts: ServedGraphOptions = {}): Graph {
  const g = new GraphBuilder('t5_encoder');
  const tokens = tokenInput(g, cfg, 'source', opts);
  const mask = g.input('attention_mask', 'int64', ['batch', 'source']);
  const hidden = t5Encoder(g, cfg, adapterParams(g, initializerParams(g, weights, false), weights, adapterTargets), tokens, mask);
  g.output(hidden, 'last_hidden_state', 'float32', ['batch', 'source', cfg.dModel]);
  return g.build();
}

export function buildCrossKVGraph(cfg: T5Config, weights: T5Weights, adapterTargets?: readonly string[]): Graph {
  const g = new GraphBuilder('t5_cross_kv');
  const states = g.input('encoder_hidden_states', 'float32', ['batch', 'source', cfg.dModel]);
  const kv = crossKeyValues(g, cfg, adapterParams(g, initializerParams(g, weights, false), weights, adapterTargets), states);
  const shape = ['batch', cfg.numHeads, 'source', cfg.dKv];
  kv.forEach(({ key, value }, i) => {
    g.output(key, decoderNames.crossKey(i), 'float32', shape);
    g.output(value, decoderNames.crossValue(i), 'float32', shape);
  });
  return g.build();
}

/**
 * One decoder step for T new tokens per row (T = 1 while generating; T = the whole target when
 * teacher forcing with an empty cache). The cache is the caller's: past.{i}.* [B, H, C, dk] with
 * past_mask [B, C] (1 = a slot holding a real key) and past_positions [B, C]; rows may sit at
 * different positions (query_positions [B, T]). Outputs the new tokens' keys and values, which the
 * caller writes into its cache, rather than a grown copy of the whole cache. With `presentOutputs` (a
 * device that keeps the cache where it computes), also the grown cache present.{i}.* [B, H, C + T, dk],
 * which the caller feeds back as the next step's past without it crossing to the host.
 */
export function buildDecoderStepGraph(
  cfg: T5Config,
  weights: T5Weights,
  adapterTargets?: readonly string[],
  opts: ServedGraphOptions & { presentOutputs?: boolean; screenedHead?: { weightLevels: WeightLevels } } = {},
): Graph {
  const g = new GraphBuilder('t5_decoder_step');
  const p = adapterParams(g, initializerParams(g, weights), weights, adapterTargets);
  const tokens = tokenInput(g, cfg, 'new', opts);
  const encoderMask = g.input('encoder_attention_mask', 'int64', ['batch', 'source']);
  const pastMask = g.input('past_mask', 'int64', ['batch', 'capacity']);
  const pastPositions = g.input('past_positions', 'int64', ['batch', 'capacity']);
  const queryPositions = g.input('query_positions', 'int64', ['batch', 'new']);
  const past: KeyValue[] = [];
  const cross: KeyValue[] = [];
  const pastShape = ['batch', cfg.numHeads, 'capacity', cfg.dKv];
  const crossShape = ['batch', cfg.numHeads, 'source', cfg.dKv];
  for (let i = 0; i < cfg.numDecoderLayers; i++) {
    past.push({
      key: g.input(decoderNames.pastKey(i), 'float32', pastShape),
      value: g.input(decoderNames.pastValue(i), 'float32', pastShape),
    });
    cross.push({
      key: g.input(decoderNames.crossKey(i), 'float32', crossShape),
      value: g.input(decoderNames.crossValue(i), 'float32', crossShape),
    });
  }
  // Keys are the cache slots followed by the new tokens, which are always real.
  const newValid = g.op('ConstantOfShape', [g.shape(queryPositions)], {
    value: attr.tensor({ dtype: 'int64', shape: [1], data: new BigInt64Array([1n]) }),
  });
  const keyPositions = g.concat([pastPositions, queryPositions], 1);
  const keyMask = g.concat([pastMask, newValid], 1);
  const selfBias = decoderSelfBias(g, cfg, p, queryPositions, keyPositions, keyMask);
  const crossBias = paddingBias(g, encoderMask);
  const { hidden, present } = t5Decoder(g, cfg, p, { tokens, selfBias, cross, crossBias, past, keepPastApart: true });
  if (opts.screenedHead) screenedHeadOutputs(g, cfg, p, hidden);
  else logitsOutputs(g, lmHead(g, cfg, p, hidden), cfg);
  const newShape = ['batch', cfg.numHeads, 'new', cfg.dKv];
  present.forEach(({ key, value }, i) => {
    g.output(key, decoderNames.newKey(i), 'float32', newShape);
    g.output(value, decoderNames.newValue(i), 'float32', newShape);
    if (!opts.presentOutputs) return;
    const presentShape = ['batch', cfg.numHeads, 'present', cfg.dKv];
    g.output(g.concat([past[i].key, key], 2), decoderNames.presentKey(i), 'float32', presentShape);
    g.output(g.concat([past[i].value, value], 2), decoderNames.presentValue(i), 'float32', presentShape);
  });
  const graph = g.build();
  return opts.screenedHead ? withIntegerScreen(graph, cfg, opts.screenedHead.weightLevels) : graph;
}

/** Only the screening MatMul turns integer; the rest of an f32 model stays f32. */
function withIntegerScreen(graph: Graph, cfg: T5Config, weightLevels: WeightLevels): Graph {
  const headWeight = `${lmHeadWeightName(cfg)}.T`;
  return toIntegerGemm(graph, (w) => w === headWeight, weightLevels);
}

/** `logits` [B, T, V] and, for greedy rows, their argmax `greedy_ids` [B, T]. */
function logitsOutputs(g: GraphBuilder, logits: string, cfg: T5Config): void {
  g.output(logits, 'logits', 'float32', ['batch', 'new', cfg.vocabSize]);
  // Greedy rows need only the best token: the runtime's vectorised ArgMax saves a JS pass over V per row.
  const best = g.op('ArgMax', [logits], { axis: attr.int(-1), keepdims: attr.int(0) });
  g.output(best, 'greedy_ids', 'int64', ['batch', 'new']);
}

/** The screen's vocabulary blocks: the largest divisor of V up to 32 tokens (32,128 = 1,004 x 32). */
export function screenBlockSize(vocab: number): number {
  let size = Math.min(32, vocab);
  while (vocab % size !== 0) size--;
  return size;
}

/**
 * How many blocks of the screen come back per row. The best token lies in them unless more blocks than
 * that hold a token within the bound of it. Three bursts of 32 bench requests (64 + 64 tokens,
 * in-process): 64 blocks left 12 of 6,337 rows to the f32 head, which a server then builds (bench vs-hf
 * peaked at 955 MiB, 1.17x HF); 128 left none, as the top 128 tokens of the screen before them did.
 */
const SCREEN_BLOCKS = 128;

/**
 * In place of the logits: the head's input `head_input` [B, T, D] and, from its logits computed on int8
 * weights, where the exact best can be: the blocks of screenBlockSize tokens with the largest maxima,
 * `screen_blocks` [B, T, n] (block ids, n = SCREEN_BLOCKS or every block) with their logits
 * `screen_values` [B, T, n, block], and the largest maxima in order, `screen_maxima` [B, T, n (+ 1)]:
 * the last, where there is one more, bounds every logit outside the blocks. Not a TopK over V: at batch
 * 32 onnxruntime's took 1.5-2.0 ms of a 27 ms f32 step (k = 128), a ReduceMax over the same logits
 * 0.15-0.3. Every shape is fixed by the batch (no NonZero), so onnxruntime's memory plan holds. The runner
 * rescores the candidates on f32 weights (ScreenedHead); the f32 head (buildLmHeadGraph) runs only where
 * logits are asked for or the blocks cannot settle a row.
 */
function screenedHeadOutputs(g: GraphBuilder, cfg: T5Config, p: T5Params, hidden: string): void {
  const input = lmHeadInput(g, cfg, hidden);
  g.output(input, 'head_input', 'float32', ['batch', 'new', cfg.dModel]);
  const approx = g.matmul(input, p.linear(lmHeadWeightName(cfg)));
  const size = screenBlockSize(cfg.vocabSize);
  const count = cfg.vocabSize / size;
  const chosen = Math.min(SCREEN_BLOCKS, count);
  const blocks = g.reshape(approx, [0, 0, count, size]);
  const blockMax = g.op('ReduceMax', [blocks], { axes: attr.ints([3]), keepdims: attr.int(0) });
  const maxima = Math.min(chosen + 1, count);
  const [values, order] = g.opMulti('TopK', [blockMax, g.constInt64([maxima])], 2, { axis: attr.int(-1) });
  const ids = maxima > chosen ? g.op('Slice', [order, g.constInt64([0]), g.constInt64([chosen]), g.constInt64([2])]) : order;
  g.output(values, 'screen_maxima', 'float32', ['batch', 'new', maxima]);
  g.output(ids, 'screen_blocks', 'int64', ['batch', 'new', chosen]);
  g.output(g.op('GatherND', [blocks, g.unsqueeze(ids, [3])], { batch_dims: attr.int(2) }), 'screen_values', 'float32', ['batch', 'new', chosen, size]);
}

/**
 * The screen alone, as the decoder step computes it from its last hidden states `hidden` [B, T, D]:
 * to check the screen against the f32 head for hidden states of a test's choosing.
 */
export function buildScreenedHeadGraph(cfg: T5Config, weights: T5Weights, weightLevels: WeightLevels): Graph {
  const g = new GraphBuilder('t5_screened_head');
  const hidden = g.input('hidden', 'float32', ['batch', 'new', cfg.dModel]);
  screenedHeadOutputs(g, cfg, initializerParams(g, weights), hidden);
  return withIntegerScreen(g.build(), cfg, weightLevels);
}

/** The f32 LM head alone: `head_input` [B, T, D] to `logits` and `greedy_ids`, for a screened decoder. */
export function buildLmHeadGraph(cfg: T5Config, weights: T5Weights): Graph {
  const g = new GraphBuilder('t5_lm_head');
  const input = g.input('head_input', 'float32', ['batch', 'new', cfg.dModel]);
  logitsOutputs(g, g.matmul(input, initializerParams(g, weights).linear(lmHeadWeightName(cfg))), cfg);
  return g.build();
}
