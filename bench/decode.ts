/**
 * Decode throughput of the engine against itself (one request at a time) and against transformers.js
 * on our exported model, on the flan-t5-small shape with seeded random weights: 32 requests of
 * 64-token prompts, 64 new tokens each, greedy. Prints one JSON object.
 */
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { exportOnnxModel } from '../runtime/checkpoint/onnx-export.ts';
import { loadModelDir } from '../runtime/checkpoint/model-dir.ts';
import type { T5Config } from '../runtime/checkpoint/t5-config.ts';
import type { GenerationRequest } from '../runtime/engine/engine-api.ts';
import { createEngine, type T5Engine } from '../runtime/engine/t5-engine.ts';
import { BatchKVCache } from '../runtime/engine/batch-kv-cache.ts';
import { sliceCrossRow } from '../runtime/engine/greedy-decode.ts';
import { int64Feed, ort, sessionConfigFromEnv } from '../runtime/onnx-session.ts';
import { T5Runner } from '../runtime/t5-runner.ts';
import { seededPrompts, writeBenchModel } from './bench-model.ts';
import { matmulGflops } from './matmul-baseline.ts';

const REQUESTS = 32;
const PROMPT_TOKENS = 64;
const NEW_TOKENS = 64;
const SC_SAMPLES = 8;

const session = sessionConfigFromEnv();
const { dir, config } = writeBenchModel();
const prompts = seededPrompts(REQUESTS, PROMPT_TOKENS, config.vocabSize, 11);
const log = (msg: string) => process.stderr.write(`[bench decode] ${msg}\n`);

async function timed<T>(body: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = performance.now();
  const value = await body();
  return { seconds: (performance.now() - start) / 1000, value };
}

async function runOurs(engine: T5Engine, request: GenerationRequest): Promise<number> {
  let tokens = 0;
  for await (const e of engine.generate(request)) if (e.type === 'token') tokens++;
  return tokens;
}

async function measureOurs() {
  const engine = await createEngine({ modelDir: dir, session, limits: { maxBatchSequences: REQUESTS } });
  const greedy = (prompt: number[]): GenerationRequest => ({ prompt, sampling: { maxTokens: NEW_TOKENS } });
  await runOurs(engine, { prompt: prompts[0], sampling: { maxTokens: 4 } }); // warm-up
  log('ours: one at a time');
  const sequential = await timed(async () => {
    let tokens = 0;
    for (const p of prompts) tokens += await runOurs(engine, greedy(p));
    return tokens;
  });
  log('ours: 32 concurrent');
  const concurrent = await timed(async () => (await Promise.all(prompts.map((p) => runOurs(engine, greedy(p))))).reduce((a, b) => a + b));
  log('ours: self-consistency');
  const sampling = { maxTokens: NEW_TOKENS, temperature: 0.7, seed: 3 };
  // Fresh prompts (a token changed) so neither run is helped by the encoder cache.
  const fresh = (i: number) => [i + 5, ...prompts[i].slice(1)];
  const single = await timed(() => runOurs(engine, { prompt: fresh(0), sampling }));
  const sc = await timed(() => runOurs(engine, { prompt: fresh(1), sampling: { ...sampling, n: SC_SAMPLES } }));
  await engine.close();
  return { sequential, concurrent, single, sc };
}

async function measureTransformersJs() {
  const out = join(mkdtempSync(join(tmpdir(), 'flan-bench-export-')), 'model');
  exportOnnxModel(dir, out);
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.localModelPath = `${dirname(out)}/`;
  const model = await tf.AutoModelForSeq2SeqLM.from_pretrained(basename(out), {
    dtype: 'fp32',
    device: 'cpu',
    session_options: session.threads > 0 ? { intraOpNumThreads: session.threads } : {},
  });
  const generate = async (batch: number[][]) => {
    const input_ids = new tf.Tensor('int64', BigInt64Array.from(batch.flat().map(BigInt)), [batch.length, PROMPT_TOKENS]);
    const attention_mask = new tf.Tensor('int64', new BigInt64Array(batch.length * PROMPT_TOKENS).fill(1n), [batch.length, PROMPT_TOKENS]);
    const ids = (await model.generate({ input_ids, attention_mask, max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS, do_sample: false })) as { dims: number[] };
    return batch.length * (ids.dims[1] - 1);
  };
  await generate([prompts[0]]); // warm-up
  log('transformers.js: one at a time');
  const sequential = await timed(async () => {
    let tokens = 0;
    for (const p of prompts) tokens += await generate([p]);
    return tokens;
  });
  log('transformers.js: 32 concurrent generate() calls');
  const concurrent = await timed(async () => (await Promise.all(prompts.map((p) => generate([p])))).reduce((a, b) => a + b));
  log('transformers.js: one static batch of 32');
  const staticBatch = await timed(() => generate(prompts));
  await model.dispose();
  return { sequential, concurrent, staticBatch };
}

/** FLOPs of one decoder step for one row: every projection, attention over past and prompt, lm_head. */
function decodeStepFlops(c: T5Config, past: number, source: number): number {
  const inner = c.numHeads * c.dKv;
  const ff = (c.isGated ? 3 : 2) * c.dModel * c.dFf;
  const perLayer = 4 * c.dModel * inner + 2 * c.dModel * inner + ff + 2 * inner * (past + 1) + 2 * inner * source;
  return 2 * (c.numDecoderLayers * perLayer + c.dModel * c.vocabSize);
}

async function measureStepGflops() {
  const model = loadModelDir(dir);
  const runner = await T5Runner.fromWeights(model.config, model.weights, session);
  const c = model.config;
  const cross = await runner.crossKeyValues(await runner.encode(int64Feed(prompts), int64Feed(prompts.map((p) => p.map(() => 1)))));
  const past = PROMPT_TOKENS; // mid-generation: as many past tokens as prompt tokens
  // The engine's cache as it stands then: `past` real slots in a buffer of twice that capacity.
  const cache = new BatchKVCache(c.numDecoderLayers, c.numHeads, c.dKv);
  cache.repack([], prompts.map((_, b) => sliceCrossRow(cross, b, PROMPT_TOKENS)));
  const step = new ort.Tensor('float32', new Float32Array(REQUESTS * c.numHeads * c.dKv).fill(0.01), [REQUESTS, c.numHeads, 1, c.dKv]);
  for (let i = 0; i < past; i++) cache.append(runner.emptyPast(1).map(() => step));
  const feeds = {
    inputIds: int64Feed(prompts.map(() => [5])),
    encoderAttentionMask: cache.encoderMask,
    ...cache.selfAttentionFeeds(),
    past: cache.past,
    cross: cache.cross,
  };
  await runner.decodeStep(feeds);
  const steps = 20;
  const { seconds } = await timed(async () => {
    for (let i = 0; i < steps; i++) await runner.decodeStep(feeds);
  });
  await runner.release();
  return { stepMs: (seconds / steps) * 1000, gflops: (decodeStepFlops(c, past, PROMPT_TOKENS) * REQUESTS * steps) / seconds / 1e9 };
}

const ours = await measureOurs();
const theirs = await measureTransformersJs();
log('decode step GFLOP/s and MatMul baseline');
const step = await measureStepGflops();
const matmul = await matmulGflops(1024, 1024, 1024, session);

const rate = (r: { seconds: number; value: number }) => r.value / r.seconds;
const perToken = (r: { seconds: number; value: number }) => (r.seconds / r.value) * 1000;
const round = (x: number, digits = 3) => Number(x.toPrecision(digits));
const result = {
  bench: 'decode',
  model: 'flan-t5-small shape, seeded random weights (f32)',
  workload: { requests: REQUESTS, promptTokens: PROMPT_TOKENS, newTokens: NEW_TOKENS, greedy: true },
  machine: { cpus: cpus().length, threads: session.threads || 'onnxruntime default', device: session.device },
  ours: {
    oneAtATimeTokensPerSec: round(rate(ours.sequential)),
    concurrent32TokensPerSec: round(rate(ours.concurrent)),
    msPerTokenAlone: round(perToken(ours.sequential)),
    selfConsistencyK8Seconds: round(ours.sc.seconds),
    oneSampledCompletionSeconds: round(ours.single.seconds),
  },
  transformersJs: {
    oneAtATimeTokensPerSec: round(rate(theirs.sequential)),
    concurrent32CallsTokensPerSec: round(rate(theirs.concurrent)),
    staticBatch32TokensPerSec: round(rate(theirs.staticBatch)),
    msPerTokenAlone: round(perToken(theirs.sequential)),
  },
  decodeStep: { batch: REQUESTS, pastTokens: PROMPT_TOKENS, ms: round(step.stepMs), gflops: round(step.gflops), matmulGflops: round(matmul), fractionOfMatmul: round(step.gflops / matmul) },
  ratios: {
    concurrentVsOneAtATime: round(rate(ours.concurrent) / rate(ours.sequential)),
    concurrentVsTransformersJsCalls: round(rate(ours.concurrent) / rate(theirs.concurrent)),
    concurrentVsTransformersJsStaticBatch: round(rate(ours.concurrent) / rate(theirs.staticBatch)),
    msPerTokenAloneVsTransformersJs: round(perToken(ours.sequential) / perToken(theirs.sequential)),
    selfConsistencyK8VsOneSample: round(ours.sc.seconds / ours.single.seconds),
  },
  goals: {
    concurrentVsOneAtATime: '>= 10',
    concurrentVsTransformersJsCalls: '>= 5',
    msPerTokenAloneVsTransformersJs: '<= 0.8',
    selfConsistencyK8VsOneSample: '<= 2.5',
  },
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
