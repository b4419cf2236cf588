import { readFileSync } from 'node:fs';
import { ModelLoadError } from './model-load-error.ts';

/**
 * Reads a JSON object from a model directory file. Every small JSON file of a checkpoint (config,
 * generation config, shard index, tokenizer config) fails the same way: a ModelLoadError naming the
 * file, never a bare ENOENT or SyntaxError that the caller would have to translate.
 */
export function readJsonObjectFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelLoadError(file, code === 'ENOENT' ? 'file not found' : `cannot read: ${String(err)}`);
  }
  return parseJsonObject(text, file);
}

export function parseJsonObject(text: string, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(file, `invalid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(value)) throw new ModelLoadError(file, 'expected a JSON object at the top level');
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
