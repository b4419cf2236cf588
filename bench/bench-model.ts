import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initT5Weights, randomT5Weights, writeT5ModelDir } from '../runtime/checkpoint/random-t5.ts';
import { parseT5Config, type T5Config } from '../runtime/checkpoint/t5-config.ts';
import type { TrainBatch } from '../finetune/trainer/train-step.ts';
import { SeededRandom } from '../runtime/seeded-random.ts';

/** The flan-t5-small shape: the model every speed figure of the issues is measured on. */
export const FLAN_T5_SMALL = {
  architectures: ['T5ForConditionalGeneration'],
  model_type: 't5',
  vocab_size: 32128,
  d_model: 512,
  d_kv: 64,
  num_heads: 6,
  d_ff: 1024,
  num_layers: 8,
  num_decoder_layers: 8,
  relative_attention_num_buckets: 32,
  relative_attention_max_distance: 128,
  layer_norm_epsilon: 1e-6,
  feed_forward_proj: 'gated-gelu',
  tie_word_embeddings: false,
  pad_token_id: 0,
  eos_token_id: 1,
  decoder_start_token_id: 0,
};

/** flan-t5-base and -large differ from -small only in size; the GPU benchmark runs all three. */
export const FLAN_T5_SHAPES = {
  small: FLAN_T5_SMALL,
  base: { ...FLAN_T5_SMALL, d_model: 768, num_heads: 12, d_ff: 2048, num_layers: 12, num_decoder_layers: 12 },
  large: { ...FLAN_T5_SMALL, d_model: 1024, num_heads: 16, d_ff: 2816, num_layers: 24, num_decoder_layers: 24 },
};

export const sharedTokenizer = fileURLToPath(new URL('../../shared/fixtures/t5-tokenizer/tokenizer.json', import.meta.url));

/**
 * Writes a flan-t5-small-shaped model with seeded random weights. With `neverEnd`, the end-of-sequence
 * row of lm_head is zeroed so greedy decoding always runs to max_tokens: every system then generates
 * exactly the same number of tokens. `init: 't5'` draws T5's own initialisation (initT5Weights) instead
 * of plain fan-in scaling: its attention scores start near unit variance, where fan-in scaled queries
 * give scores of std sqrt(d_kv) = 8 and a near-hard softmax that doubles a float32 rounding difference
 * at every layer (README, "Adapters against the merged model"); a comparison of two float orders (an
 * adapter beside W against one merged into it) needs the former.
 */
export function writeBenchModel({ seed = 0, neverEnd = true, init = 'fan-in' }: { seed?: number; neverEnd?: boolean; init?: 'fan-in' | 't5' } = {}): { dir: string; config: T5Config } {
  const config = parseT5Config(FLAN_T5_SMALL, 'bench config');
  const weights = init === 't5' ? initT5Weights(config, seed) : randomT5Weights(config, seed);
  if (neverEnd) {
    const head = weights.get('lm_head.weight')!;
    head.data.fill(0, config.eosTokenId * config.dModel, (config.eosTokenId + 1) * config.dModel);
  }
  const dir = mkdtempSync(join(tmpdir(), 'flan-bench-model-'));
  writeT5ModelDir(dir, { config, weights, tokenizerFiles: [sharedTokenizer] });
  return { dir, config };
}

export function seededPrompts(count: number, length: number, vocab: number, seed: number): number[][] {
  // Ordinary token ids (clear of the special and sentinel ranges), ending in </s> like a tokenized prompt.
  const random = SeededRandom.fromSeed(seed);
  return Array.from({ length: count }, () => [...Array.from({ length: length - 1 }, () => 100 + random.int(vocab - 300)), 1]);
}

/** A finetuning batch of random ordinary tokens: `batch` rows of `source` prompt and `target` label ids. */
export function randomTrainBatch(config: T5Config, seed: number, batch: number, source: number, target: number): TrainBatch {
  const rng = SeededRandom.fromSeed(seed);
  const row = (n: number) => [...Array.from({ length: n - 1 }, () => 3 + rng.int(32000)), config.eosTokenId];
  const labels = Array.from({ length: batch }, () => row(target));
  return {
    inputIds: Array.from({ length: batch }, () => row(source)),
    attentionMask: Array.from({ length: batch }, () => new Array<number>(source).fill(1)),
    decoderInputIds: labels.map((l) => [config.decoderStartTokenId, ...l.slice(0, -1)]),
    labels,
  };
}
