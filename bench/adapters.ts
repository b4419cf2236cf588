/**
 * LoRA adapters served over a shared base, on the flan-t5-small shape with seeded random weights drawn as
 * T5 initialises them (rank-8 q/v adapters, random factors sized as trained ones): 32 concurrent greedy
 * requests spread over 8 adapters (4 each) against 32 on the bare base, in one engine and one run,
 * prompts of 64 tokens and 64 new tokens each. Also the time to hot-load an adapter (first request's
 * load, no restart), the bytes an adapter holds against a merged copy's, the base's cost of carrying the
 * adapter path (an engine built without it), and whether an adapter's rows in the mixed batch decode
 * exactly as its merged model does (README, "Adapters against the merged model"). Prints one JSON
 * object; the issue asks adaptersOverBase >= 0.8.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMergedAdapterDir } from '../finetune/jobs/model-export.ts';
import { adapterBytes, writeAdapterDir } from '../runtime/checkpoint/lora-adapter.ts';
import { randomLoraAdapter, TRAINED_LORA_UPDATE_SCALE } from '../runtime/checkpoint/random-t5.ts';
import type { ModelRef } from '../runtime/engine/engine-api.ts';
import { createEngine, type EngineCore } from '../runtime/engine/engine-core.ts';
import { sessionConfigFromEnv } from '../runtime/onnx-session.ts';
import { seededPrompts, writeBenchModel } from './bench-model.ts';

const REQUESTS = 32;
const ADAPTERS = 8;
const PROMPT_TOKENS = 64;
const NEW_TOKENS = 64;
const SPEC = { rank: 8, alpha: 16, targets: ['q', 'v'] };
const log = (msg: string) => process.stderr.write(`[bench adapters] ${msg}\n`);
const round1 = (x: number) => Math.round(x * 10) / 10;

const session = sessionConfigFromEnv();
const limits = { maxBatchSequences: REQUESTS };
const { dir, config } = writeBenchModel({ init: 't5' });
const base: ModelRef = { id: 'base', dir };
const work = mkdtempSync(join(tmpdir(), 'flan-bench-adapters-'));
const adapters = Array.from({ length: ADAPTERS }, (_, i) => {
  const adapter = randomLoraAdapter(config, SPEC, 1000 + i, TRAINED_LORA_UPDATE_SCALE);
  const adapterDir = join(work, `adapter-${i}`);
  writeAdapterDir(adapterDir, adapter, dir);
  return { ref: { ...base, adapter: { id: `ft-${i}`, dir: adapterDir } } as ModelRef, bytes: adapterBytes(adapter) };
});
/** Each batch gets prompts of its own (first token differs), so no run is helped by the encoder cache. */
let promptSeed = 0;
const freshPrompts = () => seededPrompts(REQUESTS, PROMPT_TOKENS, config.vocabSize, 11).map((p, i) => [100 + promptSeed++ * REQUESTS + i, ...p.slice(1)]);

async function tokensOf(engine: EngineCore, model: ModelRef, prompt: number[]): Promise<number[]> {
  const ids: number[] = [];
  for await (const e of engine.generate({ model, prompt, sampling: { maxTokens: NEW_TOKENS, temperature: 0 } })) if (e.type === 'token') ids.push(e.tokenId);
  return ids;
}

/** Greedy tokens with the gap between the best and second-best log-probability at each step. */
async function tokensWithMargins(engine: EngineCore, model: ModelRef, prompt: number[]) {
  const ids: number[] = [];
  const margins: number[] = [];
  for await (const e of engine.generate({ model, prompt, sampling: { maxTokens: NEW_TOKENS, temperature: 0, logprobs: 2 } })) {
    if (e.type !== 'token') continue;
    ids.push(e.tokenId);
    margins.push(e.topLogprobs![0].logprob - e.topLogprobs![1].logprob);
  }
  return { ids, margins };
}

/** Decodes one batch of 32 requests, request i on models[i]; returns tokens/s and every request's tokens. */
async function batch(engine: EngineCore, models: ModelRef[], prompts = freshPrompts()) {
  const started = performance.now();
  const outputs = await Promise.all(prompts.map((p, i) => tokensOf(engine, models[i], p)));
  const seconds = (performance.now() - started) / 1000;
  return { tokensPerSecond: outputs.reduce((s, o) => s + o.length, 0) / seconds, outputs, prompts };
}

async function main() {
  const engine = await createEngine({ modelDir: dir, modelId: 'base', session, limits });
  const plain = await createEngine({ modelDir: dir, modelId: 'base', session, limits: { ...limits, adapterTargets: [] } });
  const bases = Array<ModelRef>(REQUESTS).fill(base);
  await batch(engine, bases); // warm-up
  await batch(plain, bases);
  // The cost of the adapter path on base-only traffic, best of two interleaved runs each (shared CPUs).
  const withPath: number[] = [];
  const withoutPath: number[] = [];
  for (let round = 0; round < 2; round++) {
    withoutPath.push((await batch(plain, bases)).tokensPerSecond);
    withPath.push((await batch(engine, bases)).tokensPerSecond);
  }
  await plain.close();
  log(`base-only: ${withPath.map(round1)} tok/s with the adapter path, ${withoutPath.map(round1)} without`);
  const loadMs: number[] = [];
  for (const { ref } of adapters) {
    const started = performance.now();
    await engine.load(ref);
    loadMs.push(performance.now() - started);
  }
  const onBase = await batch(engine, bases);
  log(`32 on the base: ${onBase.tokensPerSecond.toFixed(1)} tok/s`);
  const spread = adapters.flatMap(({ ref }) => Array<ModelRef>(REQUESTS / ADAPTERS).fill(ref));
  const mixed = await batch(engine, spread);
  log(`32 over 8 adapters: ${mixed.tokensPerSecond.toFixed(1)} tok/s`);

  // The first adapter's rows of the mixed batch against its merged model decoding the same prompts:
  // x W + x A B and x (W + B A) are two float orders, so a divergence can only come where the top two
  // are within rounding; each is reported with the merged model's top-2 margin there.
  const mergedDir = join(work, 'merged-0');
  writeMergedAdapterDir(mergedDir, dir, adapters[0].ref.adapter!.dir);
  const share = REQUESTS / ADAPTERS;
  const mergedRef = { id: 'merged-0', dir: mergedDir };
  const mergedCopyBytes = (await engine.load(mergedRef)).bytes;
  const merged = await Promise.all(mixed.prompts.slice(0, share).map((p) => tokensWithMargins(engine, mergedRef, p)));
  const agreement = merged.map(({ ids, margins }, i) => {
    let k = 0;
    while (k < ids.length && ids[k] === mixed.outputs[i][k]) k++;
    return k === ids.length ? { identicalTokens: k } : { identicalTokens: k, marginAtDivergence: Math.round(margins[k] * 1e4) / 1e4 };
  });
  await engine.close();

  console.log(
    JSON.stringify({
      shape: 'flan-t5-small (random weights)',
      adapters: { count: ADAPTERS, ...SPEC },
      requests: REQUESTS,
      promptTokens: PROMPT_TOKENS,
      newTokens: NEW_TOKENS,
      threads: session.threads,
      tokensPerSecond: { base: round1(onBase.tokensPerSecond), adapters: round1(mixed.tokensPerSecond) },
      adaptersOverBase: Math.round((mixed.tokensPerSecond / onBase.tokensPerSecond) * 100) / 100,
      baseOnly: { withAdapterPath: withPath.map(round1), withoutAdapterPath: withoutPath.map(round1), ratio: Math.round((Math.max(...withPath) / Math.max(...withoutPath)) * 100) / 100 },
      hotLoadMs: { first: round1(loadMs[0]), median: round1([...loadMs].sort((a, b) => a - b)[Math.floor(loadMs.length / 2)]) },
      bytesPerAdapter: { factors: adapters[0].bytes, loaded: 2 * adapters[0].bytes, mergedCopy: mergedCopyBytes },
      loadedAdapterOverMergedCopy: Math.round(((2 * adapters[0].bytes) / mergedCopyBytes) * 10000) / 10000,
      mixedBatchVsMerged: agreement,
    }),
  );
}

await main();
