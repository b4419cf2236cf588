import { parseT5Config, type T5Config } from '../../runtime/checkpoint/t5-config.ts';

/**
 * The flan-mini shape: Flan-T5's architecture (v1.1: gated-GELU, RMSNorm, relative buckets, untied
 * head) at about 3.5M parameters. Sized by measured step time on two CPU cores (about 1.8 s for a
 * packed 16 x 256-token batch with the project trainer), and small enough that both models in BF16
 * stay far under 30 MB; the vocabulary is a quarter of the embedding budget of a 4k one.
 */
export function flanMiniConfig(vocabSize: number): T5Config {
  return parseT5Config(
    {
      architectures: ['T5ForConditionalGeneration'],
      model_type: 't5',
      vocab_size: vocabSize,
      d_model: 192,
      d_kv: 32,
      num_heads: 6,
      d_ff: 512,
      num_layers: 3,
      num_decoder_layers: 3,
      relative_attention_num_buckets: 32,
      relative_attention_max_distance: 128,
      feed_forward_proj: 'gated-gelu',
      tie_word_embeddings: false,
      pad_token_id: 0,
      eos_token_id: 1,
      decoder_start_token_id: 0,
    },
    'flan-mini architecture',
  );
}

/** Vocabulary size the BPE learner aims at; it stops earlier when every word is one token. */
export const TARGET_VOCAB_SIZE = 2048;
export const SENTINELS = 16;
