import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isLoraTarget, type LoraSpec } from '../graph/t5-train-graph.ts';
import { SeededRandom } from '../seeded-random.ts';
import { writeJsonAtomicSync } from './atomic-write.ts';
import type { LoraAdapter } from './lora-adapter.ts';
import { writeSafetensors } from './safetensors.ts';
import { t5ConfigToJson, type T5Config } from './t5-config.ts';
import { expectedT5WeightShapes, type T5Weights } from './t5-weights.ts';

/**
 * Seeded random weights for a T5 config: norm weights 1 as in a real checkpoint, every other tensor
 * normal with a fan-in scale so activations stay bounded through the layers. Benchmarks, tests and
 * pretraining from scratch start here.
 */
export function randomT5Weights(config: T5Config, seed: number): T5Weights {
  const random = SeededRandom.fromSeed(seed);
  const weights: T5Weights = new Map();
  for (const [name, shape] of expectedT5WeightShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNorm = name.endsWith('layer_norm.weight');
    const scale = 1 / Math.sqrt(shape[shape.length - 1]);
    for (let i = 0; i < data.length; i++) data[i] = isNorm ? 1 : random.normal() * scale;
    weights.set(name, { shape, data });
  }
  return weights;
}

/**
 * T5's own initialisation (t5x / Hugging Face `_init_weights`), for training from scratch: token
 * embeddings N(0, 1), so a token's identity dominates the residual stream at first; attention queries
 * fan-in scaled and divided by sqrt(d_kv) again, because T5 does not scale attention logits, so they
 * start near unit variance instead of saturating the softmax (which starves attention of gradient and
 * leaves a decoder that ignores its input); every other matrix fan-in scaled, norms 1.
 */
export function initT5Weights(config: T5Config, seed: number): T5Weights {
  const weights = randomT5Weights(config, seed);
  for (const [name, w] of weights) {
    if (/(^|\.)(shared|embed_tokens)\.weight$/.test(name)) scaleInPlace(w.data, Math.sqrt(w.shape[w.shape.length - 1]));
    else if (/\.q\.weight$/.test(name)) scaleInPlace(w.data, 1 / Math.sqrt(config.dKv));
  }
  return weights;
}

function scaleInPlace(data: Float32Array, factor: number): void {
  for (let i = 0; i < data.length; i++) data[i] *= factor;
}

export interface ModelDirContents {
  config: T5Config;
  weights: T5Weights;
  /** generation_config.json keys, written as given. */
  generation?: Record<string, unknown>;
  /** Tokenizer files copied in (tokenizer.json, or a tiktoken vocabulary and its config). */
  tokenizerFiles?: string[];
  dtype?: 'F32' | 'BF16' | 'F16';
}

/** Writes a model directory in the Hugging Face layout; each file atomically. */
export function writeT5ModelDir(dir: string, contents: ModelDirContents): void {
  mkdirSync(dir, { recursive: true });
  const dtype = contents.dtype ?? 'F32';
  writeSafetensors(
    join(dir, 'model.safetensors'),
    [...contents.weights].map(([name, w]) => ({ name, dtype, shape: w.shape, data: w.data })),
    { format: 'pt' },
  );
  const json = (file: string, value: unknown) => writeJsonAtomicSync(join(dir, file), value);
  json('config.json', t5ConfigToJson(contents.config));
  const c = contents.config;
  json('generation_config.json', {
    decoder_start_token_id: c.decoderStartTokenId,
    eos_token_id: c.eosTokenId,
    pad_token_id: c.padTokenId,
    ...contents.generation,
  });
  for (const file of contents.tokenizerFiles ?? []) copyFileSync(file, join(dir, basename(file)));
}

/** The size of a trained LoRA update against its weight, generously: ||(alpha/r) B A|| = 0.1 ||W||. */
export const TRAINED_LORA_UPDATE_SCALE = 0.1;

/**
 * A seeded LoRA adapter with both factors random (a trained adapter's B is no longer zero), for tests and
 * benchmarks of adapter serving. `updateScale` sizes the update (alpha/r) B A against a fan-in-scaled
 * weight (entries of std 1/sqrt(in)): its entries get std updateScale/sqrt(in). The default, alpha/r,
 * is as large as the weight itself times alpha/r, enough to change a tiny model's greedy output; a
 * trained adapter's is a small fraction of W (TRAINED_LORA_UPDATE_SCALE).
 */
export function randomLoraAdapter(config: T5Config, spec: LoraSpec, seed: number, updateScale = spec.alpha / spec.rank): LoraAdapter {
  const random = SeededRandom.fromSeed(seed);
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => random.normal() * scale);
  // A's entries have std 1/sqrt(in) and B's s (r/alpha)/sqrt(r), so (alpha/r) B A's have s/sqrt(in).
  const bScale = (updateScale * spec.rank) / spec.alpha / Math.sqrt(spec.rank);
  const factors: LoraAdapter['factors'] = new Map();
  for (const [name, [out, inner]] of expectedT5WeightShapes(config)) {
    if (!isLoraTarget(name, spec)) continue;
    factors.set(name, {
      a: { shape: [spec.rank, inner], data: fill(spec.rank * inner, 1 / Math.sqrt(inner)) },
      b: { shape: [out, spec.rank], data: fill(out * spec.rank, bScale) },
    });
  }
  return { spec, factors };
}
