import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeDirAtomicSync } from '../../runtime/checkpoint/atomic-write.ts';
import { readAdapterDir } from '../../runtime/checkpoint/lora-adapter.ts';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { writeSafetensors } from '../../runtime/checkpoint/safetensors.ts';
import { t5ConfigToJson, type T5Config } from '../../runtime/checkpoint/t5-config.ts';
import type { T5Weights } from '../../runtime/checkpoint/t5-weights.ts';
import { mergeAdapter } from '../trainer/lora.ts';

// Everything in a model directory that is not weights or config.json: the tokenizer in any of its
// formats and the generation defaults travel with the finetuned weights unchanged.
const CARRIED_FILES = /^(tokenizer.*|spiece\.model|special_tokens_map\.json|added_tokens\.json|generation_config\.json)$/;

/**
 * Writes a finetuned model as a Hugging Face model directory at `target`, beside it first and then
 * renamed into place, so a reader (the server loading a new version) never sees a half-written one.
 */
export function writeModelDir(target: string, config: T5Config, weights: T5Weights, baseDir: string): void {
  writeDirAtomicSync(target, (staging) => writeModelFiles(staging, config, weights, baseDir));
}

function writeModelFiles(staging: string, config: T5Config, weights: T5Weights, baseDir: string): void {
  writeFileSync(join(staging, 'config.json'), `${JSON.stringify(t5ConfigToJson(config), null, 2)}\n`);
  writeSafetensors(
    join(staging, 'model.safetensors'),
    [...weights].map(([name, w]) => ({ name, dtype: 'F32' as const, shape: w.shape, data: w.data })),
    { format: 'pt' },
  );
  for (const file of readdirSync(baseDir)) if (CARRIED_FILES.test(file)) copyFileSync(join(baseDir, file), join(staging, file));
}

/** The merged export of an adapter version: its base with W + (alpha / r) B A folded in, as a model directory. */
export function writeMergedAdapterDir(target: string, baseDir: string, adapterDir: string): void {
  const base = loadModelDir(baseDir);
  writeModelDir(target, base.config, mergeAdapter(base.weights, readAdapterDir(adapterDir)), baseDir);
}
