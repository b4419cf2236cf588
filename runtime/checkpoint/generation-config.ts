import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ModelLoadError } from './model-load-error.ts';
import { readJsonObjectFile } from './read-json-file.ts';
import type { T5Config } from './t5-config.ts';

/**
 * generation_config.json with every default filled in: the engine reads one object instead of
 * re-deriving Hugging Face's fallbacks (generation config, then model config, then library default).
 */
export interface GenerationConfig {
  /** Output tokens per request; undefined means "bounded by maxLength" as in HF. */
  maxNewTokens: number | undefined;
  /** HF's max_length (default 20); for an encoder-decoder it counts decoder tokens only. */
  maxLength: number;
  decoderStartTokenId: number;
  /** Any of these ends a sequence; HF allows a number or an array. */
  eosTokenIds: number[];
  padTokenId: number;
  doSample: boolean;
  temperature: number;
  /** 0 disables top-k filtering. */
  topK: number;
  topP: number;
}

export function defaultGenerationConfig(model: T5Config): GenerationConfig {
  return {
    maxNewTokens: undefined,
    maxLength: 20,
    decoderStartTokenId: model.decoderStartTokenId,
    eosTokenIds: [model.eosTokenId],
    padTokenId: model.padTokenId,
    doSample: false,
    temperature: 1,
    topK: 50,
    topP: 1,
  };
}

/** Reads <dir>/generation_config.json when present; the file is optional in the HF layout. */
export function readGenerationConfig(dir: string, model: T5Config): GenerationConfig {
  const file = join(dir, 'generation_config.json');
  if (!existsSync(file)) return defaultGenerationConfig(model);
  return parseGenerationConfig(readJsonObjectFile(file), model, file);
}

export function parseGenerationConfig(
  json: Record<string, unknown>,
  model: T5Config,
  file: string,
): GenerationConfig {
  const defaults = defaultGenerationConfig(model);
  const fail = (key: string, expected: string): never => {
    throw new ModelLoadError(file, `"${key}" must be ${expected}, got ${JSON.stringify(json[key])}`);
  };
  // null is how HF serializes "unset", so it falls back to the default like a missing key.
  const present = (key: string): boolean => json[key] !== undefined && json[key] !== null;
  const integer = (key: string, fallback: number, min: number): number => {
    if (!present(key)) return fallback;
    const value = json[key];
    return Number.isInteger(value) && (value as number) >= min ? (value as number) : fail(key, `an integer >= ${min}`);
  };
  const tokenId = (key: string, fallback: number): number => {
    const value = integer(key, fallback, 0);
    return value < model.vocabSize ? value : fail(key, `a token id below vocab_size ${model.vocabSize}`);
  };
  const number = (key: string, fallback: number, ok: (v: number) => boolean, expected: string): number => {
    if (!present(key)) return fallback;
    const value = json[key];
    return typeof value === 'number' && ok(value) ? value : fail(key, expected);
  };

  let eosTokenIds = defaults.eosTokenIds;
  if (present('eos_token_id')) {
    const raw = json.eos_token_id;
    const ids = Array.isArray(raw) ? raw : [raw];
    if (ids.length === 0 || !ids.every((id) => Number.isInteger(id) && id >= 0 && id < model.vocabSize)) {
      fail('eos_token_id', 'a token id or a non-empty array of token ids');
    }
    eosTokenIds = ids as number[];
  }
  const doSample = json.do_sample ?? defaults.doSample;
  if (typeof doSample !== 'boolean') fail('do_sample', 'true or false');

  return {
    maxNewTokens: present('max_new_tokens') ? integer('max_new_tokens', 0, 1) : undefined,
    maxLength: integer('max_length', defaults.maxLength, 1),
    decoderStartTokenId: tokenId('decoder_start_token_id', defaults.decoderStartTokenId),
    eosTokenIds,
    padTokenId: tokenId('pad_token_id', defaults.padTokenId),
    doSample: doSample as boolean,
    temperature: number('temperature', defaults.temperature, (v) => v >= 0, 'a number >= 0'),
    topK: integer('top_k', defaults.topK, 0),
    topP: number('top_p', defaults.topP, (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
  };
}
