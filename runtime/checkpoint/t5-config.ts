import { join } from 'node:path';
import { ModelLoadError } from './model-load-error.ts';
import { isPlainObject, readJsonObjectFile } from './read-json-file.ts';

/** The feed-forward activations the graph builder implements. */
export type T5Activation = 'relu' | 'gelu_new' | 'gelu';

/**
 * A T5 / Flan-T5 config.json in camelCase, with Hugging Face's defaults applied, so that nothing
 * downstream needs to know which keys were optional.
 */
export interface T5Config {
  modelType: string;
  vocabSize: number;
  dModel: number;
  dKv: number;
  numHeads: number;
  dFf: number;
  numLayers: number;
  numDecoderLayers: number;
  relativeAttentionNumBuckets: number;
  relativeAttentionMaxDistance: number;
  layerNormEpsilon: number;
  /** As written in config.json ('relu', 'gated-gelu', ...); activation and isGated are derived from it. */
  feedForwardProj: string;
  activation: T5Activation;
  isGated: boolean;
  /**
   * The head is the embedding (shared.weight). As read from config.json this is what the file declares;
   * loadModelDir then settles it against the checkpoint (see headOfCheckpoint in t5-weights.ts).
   */
  tieWordEmbeddings: boolean;
  /** Multiply the decoder output by d_model^-0.5 before the head (T5 v1.0); not tied to the head. */
  scaleDecoderOutputs: boolean;
  padTokenId: number;
  eosTokenId: number;
  decoderStartTokenId: number;
}

// T5WithLMHeadModel is the name the original t5-small/base/large configs still carry: same class.
const SUPPORTED_ARCHITECTURES = new Set(['T5ForConditionalGeneration', 'T5WithLMHeadModel']);

// HF's ACT2FN names that are the same function as one we implement: gelu_pytorch_tanh and gelu_fast
// are the tanh approximation that HF calls gelu_new, only computed differently.
const ACTIVATION_ALIASES: Record<string, T5Activation> = {
  relu: 'relu',
  gelu: 'gelu',
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  gelu_fast: 'gelu_new',
};

export function readT5Config(dir: string): T5Config {
  const file = join(dir, 'config.json');
  return parseT5Config(readJsonObjectFile(file), file);
}

/** `file` is only used to name the source in errors. */
export function parseT5Config(json: unknown, file: string): T5Config {
  if (!isPlainObject(json)) throw new ModelLoadError(file, 'expected a JSON object at the top level');
  const fail = (key: string, problem: string): never => {
    throw new ModelLoadError(file, `"${key}" ${problem}`);
  };

  const modelType = json.model_type;
  if (modelType !== 't5') {
    fail('model_type', `is ${JSON.stringify(modelType)}; only "t5" (T5, T5 v1.1, Flan-T5) is supported`);
  }
  if (json.architectures !== undefined) {
    const archs = json.architectures;
    if (!Array.isArray(archs) || !archs.some((a) => SUPPORTED_ARCHITECTURES.has(a as string))) {
      fail('architectures', `is ${JSON.stringify(archs)}; expected T5ForConditionalGeneration`);
    }
  }

  const positiveInt = (key: string, fallback?: number): number => {
    const value = json[key] ?? fallback;
    if (value === undefined) return fail(key, 'is missing');
    if (!Number.isInteger(value) || (value as number) <= 0) {
      return fail(key, `must be a positive integer, got ${JSON.stringify(value)}`);
    }
    return value as number;
  };
  const vocabSize = positiveInt('vocab_size');
  const tokenId = (key: string, fallback: number): number => {
    const value = json[key] ?? fallback;
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) >= vocabSize) {
      return fail(key, `must be a token id in [0, ${vocabSize}), got ${JSON.stringify(value)}`);
    }
    return value as number;
  };
  const boolean = (key: string, fallback: boolean): boolean => {
    const value = json[key] ?? fallback;
    if (typeof value !== 'boolean') return fail(key, `must be true or false, got ${JSON.stringify(value)}`);
    return value;
  };

  const feedForwardProj = json.feed_forward_proj ?? 'relu';
  if (typeof feedForwardProj !== 'string') return fail('feed_forward_proj', 'must be a string');
  // HF T5Config: "gated-X" is a gated FF with activation X, "X" an ungated one; nothing else is valid.
  const parts = feedForwardProj.split('-');
  if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'gated')) {
    fail('feed_forward_proj', `is "${feedForwardProj}"; expected "ACT" or "gated-ACT"`);
  }
  // HF special-cases gated-gelu to the tanh approximation (what Flan-T5 was trained with); an explicit
  // dense_act_fn / is_gated_act in config.json overrides the derived values, as PretrainedConfig does.
  const derivedAct = feedForwardProj === 'gated-gelu' ? 'gelu_new' : parts[parts.length - 1];
  const actName = json.dense_act_fn ?? derivedAct;
  const actKey = json.dense_act_fn !== undefined ? 'dense_act_fn' : 'feed_forward_proj';
  const activation = typeof actName === 'string' ? ACTIVATION_ALIASES[actName] : undefined;
  if (activation === undefined) {
    fail(actKey, `names activation ${JSON.stringify(actName)}, which is not supported (relu, gelu, gelu_new)`);
  }
  const isGated = boolean('is_gated_act', parts[0] === 'gated' && parts.length === 2);

  // transformers 4.x read tie_word_embeddings as "tied head and scaled output" at once; 5.x always
  // writes it true and records the scaling on its own, defaulting it from tie_word_embeddings as 4.x
  // meant it (T5Config.__post_init__ in 5.18), so both generations' files read the same here.
  const tieWordEmbeddings = boolean('tie_word_embeddings', true);
  const scaleDecoderOutputs = boolean('scale_decoder_outputs', tieWordEmbeddings);

  const numLayers = positiveInt('num_layers');
  const layerNormEpsilon = json.layer_norm_epsilon ?? 1e-6;
  if (typeof layerNormEpsilon !== 'number' || !(layerNormEpsilon > 0)) {
    fail('layer_norm_epsilon', `must be a positive number, got ${JSON.stringify(layerNormEpsilon)}`);
  }
  const padTokenId = tokenId('pad_token_id', 0);

  return {
    modelType: 't5',
    vocabSize,
    dModel: positiveInt('d_model'),
    dKv: positiveInt('d_kv'),
    numHeads: positiveInt('num_heads'),
    dFf: positiveInt('d_ff'),
    numLayers,
    numDecoderLayers: positiveInt('num_decoder_layers', numLayers),
    relativeAttentionNumBuckets: positiveInt('relative_attention_num_buckets', 32),
    relativeAttentionMaxDistance: positiveInt('relative_attention_max_distance', 128),
    layerNormEpsilon: layerNormEpsilon as number,
    feedForwardProj,
    activation: activation as T5Activation,
    isGated,
    // HF's default is tied (T5 v1.0); Flan-T5 / v1.1 configs written by 4.x say false explicitly.
    tieWordEmbeddings,
    scaleDecoderOutputs,
    padTokenId,
    eosTokenId: tokenId('eos_token_id', 1),
    decoderStartTokenId: tokenId('decoder_start_token_id', padTokenId),
  };
}

/**
 * The config.json for this config; parseT5Config(t5ConfigToJson(c)) equals c. Both keys are written so
 * that transformers 5.x reads the scaling from scale_decoder_outputs and 4.x reads tie_word_embeddings;
 * with the head written as lm_head.weight exactly when untied, both load every v1.0 and v1.1 model right.
 */
export function t5ConfigToJson(config: T5Config): Record<string, unknown> {
  return {
    architectures: ['T5ForConditionalGeneration'],
    model_type: config.modelType,
    is_encoder_decoder: true,
    vocab_size: config.vocabSize,
    d_model: config.dModel,
    d_kv: config.dKv,
    num_heads: config.numHeads,
    d_ff: config.dFf,
    num_layers: config.numLayers,
    num_decoder_layers: config.numDecoderLayers,
    relative_attention_num_buckets: config.relativeAttentionNumBuckets,
    relative_attention_max_distance: config.relativeAttentionMaxDistance,
    layer_norm_epsilon: config.layerNormEpsilon,
    feed_forward_proj: config.feedForwardProj,
    dense_act_fn: config.activation,
    is_gated_act: config.isGated,
    tie_word_embeddings: config.tieWordEmbeddings,
    scale_decoder_outputs: config.scaleDecoderOutputs,
    pad_token_id: config.padTokenId,
    eos_token_id: config.eosTokenId,
    decoder_start_token_id: config.decoderStartTokenId,
  };
}
