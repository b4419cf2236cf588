import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainingSpec } from '../../finetune/jobs/training-run.ts';
import { randomT5Weights } from '../../runtime/checkpoint/random-t5.ts';
import { writeSafetensors } from '../../runtime/checkpoint/safetensors.ts';
import { t5ConfigToJson } from '../../runtime/checkpoint/t5-config.ts';
import { tinyConfig } from './tiny-model.ts';

/**
 * A complete tiny model directory: random weights and a byte-level tiktoken vocabulary (ids 0-2
 * special, 3-258 the bytes), so jobs can run end to end with no shared fixtures.
 */
export function writeTinyModelDir(dir: string, seed = 1): string {
  mkdirSync(dir, { recursive: true });
  const config = tinyConfig({ vocab_size: 260 });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(t5ConfigToJson(config)));
  const weights = randomT5Weights(config, seed);
  writeSafetensors(join(dir, 'model.safetensors'), [...weights].map(([name, w]) => ({ name, dtype: 'F32' as const, shape: w.shape, data: w.data })));
  const ranks = Array.from({ length: 256 }, (_, b) => `${Buffer.from([b]).toString('base64')} ${b + 3}`);
  writeFileSync(join(dir, 'tokenizer.tiktoken'), `${ranks.join('\n')}\n`);
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      pat_str: '\\S+|\\s+',
      added_tokens_decoder: { 0: { content: '<pad>' }, 1: { content: '</s>' }, 2: { content: '<unk>' } },
      pad_token: '<pad>',
      eos_token: '</s>',
      unk_token: '<unk>',
    }),
  );
  return dir;
}

/** A handful of examples a tiny model can fit in a few steps. */
export const tinyJsonl = [
  { inputs: 'color of the sky', targets: 'blue', task: 'facts' },
  { inputs: 'color of grass', targets: 'green', task: 'facts' },
  { inputs: '2 + 2', targets: '4', rationale: 'two and two', task: 'math' },
  { inputs: '3 + 1', targets: '4', task: 'math' },
  { inputs: 'opposite of up', targets: 'down', task: 'words' },
  { inputs: 'opposite of hot', targets: 'cold', task: 'words' },
]
  .map((e) => JSON.stringify(e))
  .join('\n');

/** A few-second LoRA job over writeTinyModelDir and tinyJsonl, checkpointed every step. */
export function tinyLoraSpec(baseModelDir: string, trainingFile: string, steps: number, more: Partial<TrainingSpec> = {}): TrainingSpec {
  return {
    baseModelDir,
    trainingFile,
    method: { kind: 'lora', lora: { rank: 2, alpha: 4, targets: ['q', 'v'] } },
    optimizer: { kind: 'adamw', lr: 1e-2 },
    steps,
    batch: { batchSize: 2, microBatches: 1, packed: false, maxSourceLength: 32, maxTargetLength: 8 },
    seed: 3,
    heldOutFraction: 0.2,
    checkpointEvery: 1,
    ...more,
  };
}

