import { statSync } from 'node:fs';
import { readGenerationConfig, type GenerationConfig } from './generation-config.ts';
import { ModelLoadError } from './model-load-error.ts';
import { readT5Config, type T5Config } from './t5-config.ts';
import { headOfCheckpoint, loadT5Weights, type T5Weights } from './t5-weights.ts';
import { findTokenizerFile, loadTokenizer, type Tokenizer } from './tokenizer.ts';

/** Everything a model directory in the Hugging Face layout holds, parsed and checked. */
export interface ModelDir {
  dir: string;
  config: T5Config;
  weights: T5Weights;
  generationConfig: GenerationConfig;
  tokenizer?: Tokenizer;
}

export interface LoadModelDirOptions {
  /** Where to find the tokenizer when not beside the weights; a tokenizer is then required there. */
  tokenizerDir?: string;
  /** Fail when no tokenizer is found (default false: `tokenizer` is left undefined). */
  requireTokenizer?: boolean;
}

/**
 * Loads a model directory: config.json, generation_config.json (optional), the tokenizer, then the
 * weights, cheapest first, so that a mismatched tokenizer or a bad config fails before gigabytes of
 * weights are read.
 */
export function loadModelDir(dir: string, opts: LoadModelDirOptions = {}): ModelDir {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    throw new ModelLoadError(dir, 'model directory not found');
  }
  if (!isDirectory) throw new ModelLoadError(dir, 'not a directory; a model is a directory holding config.json');

  const config = readT5Config(dir);
  const generationConfig = readGenerationConfig(dir, config);
  const tokenizerDir = opts.tokenizerDir ?? dir;
  const wantTokenizer = opts.requireTokenizer === true || opts.tokenizerDir !== undefined;
  let tokenizer: Tokenizer | undefined;
  if (wantTokenizer || findTokenizerFile(tokenizerDir) !== undefined) {
    tokenizer = loadTokenizer(tokenizerDir);
    checkTokenizerMatches(tokenizer, config, findTokenizerFile(tokenizerDir) as string);
  }
  const settled = headOfCheckpoint(dir, config);
  const weights = loadT5Weights(dir, settled);
  return { dir, config: settled, weights, generationConfig, ...(tokenizer ? { tokenizer } : {}) };
}

/** A tokenizer from another model would run without error and produce garbage; catch it here. */
function checkTokenizerMatches(tokenizer: Tokenizer, config: T5Config, file: string): void {
  const problems: string[] = [];
  if (tokenizer.padId !== config.padTokenId) problems.push(`pad id ${tokenizer.padId} vs pad_token_id ${config.padTokenId}`);
  if (tokenizer.eosId !== config.eosTokenId) problems.push(`eos id ${tokenizer.eosId} vs eos_token_id ${config.eosTokenId}`);
  if (tokenizer.vocabSize > config.vocabSize) {
    problems.push(`${tokenizer.vocabSize} tokens but the model has vocab_size ${config.vocabSize}`);
  }
  if (problems.length > 0) {
    throw new ModelLoadError(file, `tokenizer does not match config.json: ${problems.join('; ')}`);
  }
}
