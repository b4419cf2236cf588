import { CheckpointTensors } from './checkpoint-tensors.ts';
import { ModelLoadError } from './model-load-error.ts';
import type { T5Config } from './t5-config.ts';

/** Parameters by Hugging Face name, in float32, with HF Linear's [out, in] layout. */
export type T5Weights = Map<string, { shape: number[]; data: Float32Array }>;

// Copies of shared.weight that some exports write out; transformers ties them to shared on load.
const IGNORED_DUPLICATES = new Set(['encoder.embed_tokens.weight', 'decoder.embed_tokens.weight']);

/**
 * Every parameter a T5ForConditionalGeneration with this config has, with its shape, in a stable
 * order (embeddings, encoder, decoder, head). The loader checks checkpoints against it and the
 * trainer creates fresh weights from it.
 */
export function expectedT5WeightShapes(config: T5Config): Map<string, number[]> {
  const { dModel, dFf, vocabSize } = config;
  const inner = config.numHeads * config.dKv;
  const shapes = new Map<string, number[]>([['shared.weight', [vocabSize, dModel]]]);
  const attention = (prefix: string, withPositionBias: boolean): void => {
    shapes.set(`${prefix}.q.weight`, [inner, dModel]);
    shapes.set(`${prefix}.k.weight`, [inner, dModel]);
    shapes.set(`${prefix}.v.weight`, [inner, dModel]);
    shapes.set(`${prefix}.o.weight`, [dModel, inner]);
    // Only layer 0 owns the relative position bias; later layers reuse its output.
    if (withPositionBias) {
      shapes.set(`${prefix}.relative_attention_bias.weight`, [config.relativeAttentionNumBuckets, config.numHeads]);
    }
  };
  const feedForward = (prefix: string): void => {
    // Gated (v1.1 / Flan) has two input projections: activation(wi_0 x) * (wi_1 x).
    for (const wi of config.isGated ? ['wi_0', 'wi_1'] : ['wi']) shapes.set(`${prefix}.${wi}.weight`, [dFf, dModel]);
    shapes.set(`${prefix}.wo.weight`, [dModel, dFf]);
  };
  for (let i = 0; i < config.numLayers; i++) {
    const block = `encoder.block.${i}`;
    attention(`${block}.layer.0.SelfAttention`, i === 0);
    shapes.set(`${block}.layer.0.layer_norm.weight`, [dModel]);
    feedForward(`${block}.layer.1.DenseReluDense`);
    shapes.set(`${block}.layer.1.layer_norm.weight`, [dModel]);
  }
  shapes.set('encoder.final_layer_norm.weight', [dModel]);
  for (let i = 0; i < config.numDecoderLayers; i++) {
    const block = `decoder.block.${i}`;
    attention(`${block}.layer.0.SelfAttention`, i === 0);
    shapes.set(`${block}.layer.0.layer_norm.weight`, [dModel]);
    attention(`${block}.layer.1.EncDecAttention`, false);
    shapes.set(`${block}.layer.1.layer_norm.weight`, [dModel]);
    feedForward(`${block}.layer.2.DenseReluDense`);
    shapes.set(`${block}.layer.2.layer_norm.weight`, [dModel]);
  }
  shapes.set('decoder.final_layer_norm.weight', [dModel]);
  if (!config.tieWordEmbeddings) shapes.set('lm_head.weight', [vocabSize, dModel]);
  return shapes;
}

/**
 * The config with its head settled against the checkpoint, as transformers 5.x settles it: a file that
 * holds its own lm_head.weight, different from shared.weight, is untied whatever tie_word_embeddings
 * says (5.x writes true for every T5, so a Hub Flan-T5 loaded and saved again by 5.x looks tied). An
 * lm_head.weight equal to shared.weight is the same model either way and stays tied. (4.x ignored the
 * file's head under tie_word_embeddings: true; only files 5.x wrote can tell the two readings apart.)
 */
export function headOfCheckpoint(dir: string, config: T5Config): T5Config {
  if (!config.tieWordEmbeddings) return config;
  const tensors = CheckpointTensors.open(dir);
  try {
    if (!tensors.has('lm_head.weight') || !tensors.has('shared.weight')) return config;
    const head = tensors.readFloat32('lm_head.weight');
    const shared = tensors.readFloat32('shared.weight');
    const same = head.length === shared.length && head.every((v, i) => v === shared[i]);
    return same ? config : { ...config, tieWordEmbeddings: false };
  } finally {
    tensors.close();
  }
}

/**
 * Loads and checks every parameter of a T5 checkpoint directory (single file or shards). All names
 * and shapes are checked from the headers before any data is read, so a wrong checkpoint fails in
 * milliseconds with the first problem named. A tensor the config does not explain is an error too:
 * silently ignoring it would mean running a different model than the checkpoint describes.
 */
export function loadT5Weights(dir: string, config: T5Config): T5Weights {
  const expected = expectedT5WeightShapes(config);
  const tensors = CheckpointTensors.open(dir);
  try {
    const missing = [...expected.keys()].filter((name) => !tensors.has(name));
    if (missing.length > 0) {
      const more = missing.length > 1 ? ` (and ${missing.length - 1} more)` : '';
      throw new ModelLoadError(
        tensors.fileOf(missing[0]),
        `missing tensor "${missing[0]}"${more}, expected shape [${expected.get(missing[0])}]`,
      );
    }
    for (const name of tensors.names()) {
      // A tied checkpoint may still carry lm_head.weight equal to shared (headOfCheckpoint checked that).
      const ignorable = IGNORED_DUPLICATES.has(name) || (config.tieWordEmbeddings && name === 'lm_head.weight');
      if (!expected.has(name) && !ignorable) {
        throw new ModelLoadError(tensors.fileOf(name), `unexpected tensor "${name}" for a ${describe(config)}`);
      }
    }
    for (const [name, shape] of expected) {
      const actual = tensors.info(name).shape;
      if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
        throw new ModelLoadError(
          tensors.fileOf(name),
          `tensor "${name}" has shape [${actual}], expected [${shape}] for a ${describe(config)}`,
        );
      }
    }
    const weights: T5Weights = new Map();
    for (const [name, shape] of expected) weights.set(name, { shape, data: tensors.readFloat32(name) });
    return weights;
  } finally {
    tensors.close();
  }
}

function describe(config: T5Config): string {
  return (
    `T5 with d_model=${config.dModel}, ${config.numHeads}x${config.dKv} heads, d_ff=${config.dFf}, ` +
    `${config.isGated ? 'gated' : 'ungated'} FF, ${config.tieWordEmbeddings ? 'tied' : 'untied'} embeddings` +
    `${config.scaleDecoderOutputs ? ', scaled decoder output' : ''}`
  );
}
