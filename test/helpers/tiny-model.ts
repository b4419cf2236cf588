import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomT5Weights, writeT5ModelDir } from '../../runtime/checkpoint/random-t5.ts';
import { parseT5Config, type T5Config } from '../../runtime/checkpoint/t5-config.ts';
import type { T5Weights } from '../../runtime/checkpoint/t5-weights.ts';
import { tokenizerDir } from './shared-fixtures.ts';

export interface TinyModelOptions {
  /** Same seed, same weights (default 1). */
  seed?: number;
  /** Default 32: small enough that a test server answers in milliseconds. */
  dModel?: number;
  numHeads?: number;
  numLayers?: number;
  /** T5 v1.1 / Flan (gated-gelu, untied head) by default; false gives a T5 v1.0 (relu, tied). */
  gated?: boolean;
  /** Written to generation_config.json: the default output length when a request gives none. */
  maxNewTokens?: number;
  /** Changes the weights before they are written (a test's broken model). */
  alter?: (weights: T5Weights) => void;
}

/**
 * Writes a Flan-T5-shaped model directory with seeded random weights and the real T5 tokenizer from
 * ../shared/fixtures/t5-tokenizer into a fresh temporary folder, and returns its path. The vocabulary
 * is the real 32128 so that every tokenizer path is exercised; everything else is tiny. Callers check
 * `hasShared` (test/helpers/shared-fixtures.ts) first: without the fixture there is no tokenizer.
 */
export function makeTinyModelDir(opts: TinyModelOptions = {}): string {
  const { seed = 1, maxNewTokens = 16 } = opts;
  const config = tinyT5Config(opts);
  const dir = mkdtempSync(join(tmpdir(), 'flan-tiny-model-'));
  const weights = randomT5Weights(config, seed);
  opts.alter?.(weights);
  writeT5ModelDir(dir, {
    config,
    weights,
    generation: { max_new_tokens: maxNewTokens },
    tokenizerFiles: [join(tokenizerDir, 'tokenizer.json')],
  });
  return dir;
}

/**
 * A Flan-T5-shaped config, tiny: d_ff twice d_model, as many decoder layers as encoder layers; gated
 * (T5 v1.1, untied head) by default, else relu with the head tied to the embeddings (T5 v1.0).
 */
export function tinyT5Config(opts: Pick<TinyModelOptions, 'dModel' | 'numHeads' | 'numLayers' | 'gated'> & { vocabSize?: number } = {}): T5Config {
  const { vocabSize = 32128, dModel = 32, numHeads = 2, numLayers = 2, gated = true } = opts;
  return parseT5Config(
    {
      architectures: ['T5ForConditionalGeneration'],
      model_type: 't5',
      vocab_size: vocabSize,
      d_model: dModel,
      d_kv: dModel / numHeads,
      num_heads: numHeads,
      d_ff: dModel * 2,
      num_layers: numLayers,
      num_decoder_layers: numLayers,
      relative_attention_num_buckets: 32,
      relative_attention_max_distance: 128,
      layer_norm_epsilon: 1e-6,
      feed_forward_proj: gated ? 'gated-gelu' : 'relu',
      tie_word_embeddings: !gated,
      pad_token_id: 0,
      eos_token_id: 1,
      decoder_start_token_id: 0,
    },
    'tiny-model config',
  );
}
