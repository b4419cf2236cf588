import { parseT5Config, type T5Config } from '../../runtime/checkpoint/t5-config.ts';

/** A tiny gated (Flan / v1.1) T5 for training tests: a step takes milliseconds. */
export function tinyConfig(overrides: Record<string, unknown> = {}): T5Config {
  return parseT5Config(
    {
      model_type: 't5',
      vocab_size: 64,
      d_model: 16,
      d_kv: 4,
      num_heads: 2,
      d_ff: 32,
      num_layers: 1,
      num_decoder_layers: 1,
      relative_attention_num_buckets: 8,
      relative_attention_max_distance: 16,
      feed_forward_proj: 'gated-gelu',
      tie_word_embeddings: false,
      ...overrides,
    },
    'tiny-config',
  );
}

/** A fixed little batch: two rows, the second padded, labels -100 past each target. */
export const tinyBatch = {
  inputIds: [
    [5, 9, 12, 7, 1],
    [8, 3, 1, 0, 0],
  ],
  attentionMask: [
    [1, 1, 1, 1, 1],
    [1, 1, 1, 0, 0],
  ],
  decoderInputIds: [
    [0, 20, 21, 22],
    [0, 30, 31, 0],
  ],
  labels: [
    [20, 21, 22, 1],
    [30, 31, 1, -100],
  ],
};
