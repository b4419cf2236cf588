import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HfTokenizer } from './hf-tokenizer.ts';
import { ModelLoadError } from './model-load-error.ts';
import { TIKTOKEN_RANKS_FILE, TiktokenTokenizer } from './tiktoken-tokenizer.ts';

/**
 * What the engine, the trainer and the eval clients need from a tokenizer, whichever file format the
 * model directory ships.
 */
export interface Tokenizer {
  /** One past the highest token id; may be below the model's vocab_size (T5 pads its embedding). */
  readonly vocabSize: number;
  readonly padId: number;
  readonly eosId: number;
  /** addEos (default true) appends </s>, as the Hugging Face T5 tokenizer does. */
  encode(text: string, opts?: { addEos?: boolean }): number[];
  /**
   * skipSpecialTokens (default true) drops pad, eos and sentinels; ids the tokenizer does not know
   * (the unused tail of T5's 32128 embedding rows, -100 labels) are dropped either way.
   */
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}

/** The file loadTokenizer would read in `dir` (tokenizer.json first), or undefined when there is none. */
export function findTokenizerFile(dir: string): string | undefined {
  return [join(dir, 'tokenizer.json'), join(dir, TIKTOKEN_RANKS_FILE)].find((file) => existsSync(file));
}

/** tokenizer.json when present (the HF layout), else a tiktoken vocabulary. */
export function loadTokenizer(dir: string): Tokenizer {
  const file = findTokenizerFile(dir);
  if (file === undefined) {
    throw new ModelLoadError(
      join(dir, 'tokenizer.json'),
      `no tokenizer found: expected tokenizer.json, or ${TIKTOKEN_RANKS_FILE} with tokenizer_config.json, in ${dir}`,
    );
  }
  return file.endsWith(TIKTOKEN_RANKS_FILE) ? TiktokenTokenizer.load(dir) : HfTokenizer.load(dir);
}
