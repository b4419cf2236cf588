import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ModelLoadError } from './model-load-error.ts';
import { isPlainObject, readJsonObjectFile } from './read-json-file.ts';

/**
 * tokenizer_config.json, which both tokenizer flavours read: Hugging Face's names the special tokens
 * (pad_token, eos_token, unk_token), and the tiktoken layout adds its own keys beside them. It is
 * optional; an absent file reads as {}.
 */
export function readTokenizerConfig(dir: string): { file: string; json: Record<string, unknown> } {
  const file = join(dir, 'tokenizer_config.json');
  return { file, json: existsSync(file) ? readJsonObjectFile(file) : {} };
}

/**
 * The text of a special token role; transformers writes either a string or a serialized AddedToken
 * ({"content": "</s>", ...}) depending on its version. T5's names are the defaults.
 */
export function specialTokenText(
  config: { file: string; json: Record<string, unknown> },
  role: 'pad_token' | 'eos_token' | 'unk_token',
): string {
  const value = config.json[role];
  if (value === undefined || value === null) return T5_SPECIAL_TOKENS[role];
  if (typeof value === 'string') return value;
  if (isPlainObject(value) && typeof value.content === 'string') return value.content;
  throw new ModelLoadError(config.file, `"${role}" must be a string or {"content": string}`);
}

const T5_SPECIAL_TOKENS = { pad_token: '<pad>', eos_token: '</s>', unk_token: '<unk>' } as const;

/** How sentencepiece renders an unknown piece; T5's reference outputs show it, so both tokenizers do. */
export const UNKNOWN_TOKEN_SURFACE = ' \u2047 ';
