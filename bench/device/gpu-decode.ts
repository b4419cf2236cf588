/**
 * Batched greedy decoding on FLAN_DEVICE (webgpu on the lent GPU machine) for the flan-t5 shapes with
 * seeded random weights: tokens/s per shape and batch, and the batch-1 step time against the time it
 * takes to read the decoder's weights once from HBM. Bundled by bench/device/prepare.sh for a machine
 * without node_modules; one JSON line per measurement on stdout, as it goes, so a run cut short keeps
 * what it measured.
 *
 *   FLAN_DEVICE=webgpu node gpu-decode.mjs --shapes base,small --batches 1,32,128 [--new-tokens 64]
 *   node gpu-decode.mjs --write-configs DIR   (the HF config.json of each shape, for the HF peer)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomT5Weights } from '../../runtime/checkpoint/random-t5.ts';
import { parseT5Config, type T5Config } from '../../runtime/checkpoint/t5-config.ts';
import type { T5Weights } from '../../runtime/checkpoint/t5-weights.ts';
import { sessionConfigFromEnv } from '../../runtime/device/device-config.ts';
import { DecodeRunner } from '../../runtime/engine/decode-runner.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { FLAN_T5_SHAPES, seededPrompts } from '../bench-model.ts';
import { decodeBatch } from '../decode-batch.ts';

/** H200's HBM3e bandwidth as NVIDIA states it; the floor is reading every decoder weight once a step. */
const HBM_BYTES_PER_SECOND = 4.8e12;
const PROMPT_TOKENS = 64;

/** A test-sized shape, so the bundle can be checked on llvmpipe before a GPU machine is lent. */
const SHAPES: Record<string, object> = {
  ...FLAN_T5_SHAPES,
  tiny: { ...FLAN_T5_SHAPES.small, vocab_size: 512, d_model: 64, num_heads: 2, d_kv: 32, d_ff: 128, num_layers: 2, num_decoder_layers: 2 },
};

const { values } = parseArgs({
  options: {
    shapes: { type: 'string', default: 'base,small,large' },
    batches: { type: 'string', default: '1,32,128' },
    'new-tokens': { type: 'string', default: '64' },
    'write-configs': { type: 'string' },
  },
});

const emit = (record: object) => process.stdout.write(`${JSON.stringify(record)}\n`);
const log = (msg: string) => process.stderr.write(`[gpu-decode] ${msg}\n`);

function shapeConfig(name: string): T5Config {
  const json = SHAPES[name];
  if (!json) throw new Error(`unknown shape "${name}" (have ${Object.keys(SHAPES).join(', ')})`);
  return parseT5Config(json, `flan-t5-${name}`);
}

/** Seeded weights whose end-of-sequence logit is 0, so every row decodes all its new tokens. */
function benchWeights(config: T5Config): T5Weights {
  const weights = randomT5Weights(config, 0);
  const head = weights.get('lm_head.weight')!;
  head.data.fill(0, config.eosTokenId * config.dModel, (config.eosTokenId + 1) * config.dModel);
  return weights;
}

/** Bytes one decoder step reads whatever the batch: the decoder's layers and the lm_head. */
function decoderStepWeightBytes(weights: T5Weights): number {
  let bytes = 0;
  for (const [name, w] of weights) if (name.startsWith('decoder.') || name === 'lm_head.weight') bytes += w.data.byteLength;
  return bytes;
}

async function benchShape(shape: string, batches: number[], newTokens: number): Promise<void> {
  const session = sessionConfigFromEnv();
  const config = shapeConfig(shape);
  log(`${shape}: random weights`);
  const weights = benchWeights(config);
  const weightBytes = decoderStepWeightBytes(weights);
  const start = performance.now();
  const runner = await T5Runner.fromWeights(config, weights, session);
  emit({ kind: 'load', system: 'ours', device: session.device, shape, seconds: (performance.now() - start) / 1000, nodePlacement: runner.nodePlacement });
  // The server's decode runner: on WebGPU its KV cache and cross K/V stay on the device between steps.
  // No encoder cache, so every batch pays its encoder pass.
  const decoder = new DecodeRunner(runner, 0);
  try {
    for (const batch of batches) {
      const prompts = seededPrompts(batch, PROMPT_TOKENS, config.vocabSize, 11);
      await decodeBatch(decoder, prompts, 2, config.decoderStartTokenId); // warm-up: shaders, allocations
      const { prefillSeconds, stepSeconds } = await decodeBatch(decoder, prompts, newTokens, config.decoderStartTokenId);
      const seconds = prefillSeconds + stepSeconds;
      const tokens = batch * newTokens;
      const stepMs = (stepSeconds / newTokens) * 1000;
      emit({
        kind: 'decode',
        system: 'ours',
        device: session.device,
        shape,
        batch,
        promptTokens: PROMPT_TOKENS,
        newTokens,
        tokens,
        seconds,
        tokensPerSecond: tokens / seconds,
        prefillSeconds,
        stepMs,
        stepToDeviceBytes: decoder.transferStats().lastStepToDeviceBytes,
        decoderWeightBytes: weightBytes,
        hbmFloorStepMs: (weightBytes / HBM_BYTES_PER_SECOND) * 1000,
      });
      log(`${shape} batch ${batch}: ${(tokens / seconds).toFixed(1)} tokens/s, ${stepMs.toFixed(2)} ms/step`);
    }
  } finally {
    await runner.release();
  }
}

if (values['write-configs']) {
  const dir = values['write-configs'];
  mkdirSync(dir, { recursive: true });
  for (const name of Object.keys(SHAPES)) writeFileSync(join(dir, `${name}.json`), JSON.stringify(SHAPES[name], null, 2));
} else {
  const batches = values.batches.split(',').map(Number);
  const newTokens = Number(values['new-tokens']);
  for (const shape of values.shapes.split(',')) await benchShape(shape, batches, newTokens);
}
