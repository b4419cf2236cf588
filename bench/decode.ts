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
import { createEngine, type EngineCore } from '../runtime/engine/engine-core.ts';
import { BatchKVCache, sliceCrossRow } from '../runtime/engine/batch-kv-cache.ts';
import { int64Feed, intraOpThreads, ort, sessionConfigFromEnv } from '../runtime/onnx-session.ts';
import { T5Runner } from '../runtime/t5-runner.ts';
import { seededPrompts, writeBenchModel } from './bench-model.ts';
import { matmulGflops } from './matmul-baseline.ts';

const REQUESTS = 32;
const PROMPT_TOKENS = 64;
const NEW_TOKENS = 64;
const SC_SAMPLES = 8;
const ALONE_REQUESTS = 8;
const ROUNDS = 2;

const session = sessionConfigFromEnv();
const { dir, config } = writeBenchModel();
const prompts = seededPrompts(REQUESTS, PROMPT_TOKENS, config.vocabSize, 11);
const log = (msg: string) => process.stderr.write(`[bench decode] ${msg}\n`);

async function timed<T>(body: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = performance.now();
  const value = await body();
  return { seconds: (performance.now() - start) / 1000, value };
}

async function runOurs(engine: EngineCore, request: GenerationRequest): Promise<number> {
  let tokens = 0;
  for await (const e of engine.generate(request)) if (e.type === 'token') tokens++;
  return tokens;
}

/** Round r's copy of the prompts: a changed first token, so no round is helped by the encoder cache. */
const freshPrompts = (round: number) => prompts.map((p, i) => [100 + round * REQUESTS + i, ...p.slice(1)]);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function ourSystem() {
  const engine = await createEngine({ modelDir: dir, session, limits: { maxBatchSequences: REQUESTS } });
  const greedy = (prompt: number[]): GenerationRequest => ({ prompt, sampling: { maxTokens: NEW_TOKENS } });
  const system = {
    engine,
    alone: (p: number[]) => runOurs(engine, greedy(p)),
    concurrent: async (batch: number[][]) => sum(await Promise.all(batch.map((p) => runOurs(engine, greedy(p))))),
  };
  await runOurs(engine, { prompt: prompts[0], sampling: { maxTokens: 4 } }); // warm-up
  return system;
}

async function transformersJsSystem() {
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
  return {
    model,
    alone: (p: number[]) => generate([p]),
    // How a server built on transformers.js serves concurrent requests: one generate() call each.
    concurrent: async (batch: number[][]) => sum(await Promise.all(batch.map((p) => generate([p])))),
    staticBatch: (batch: number[][]) => generate(batch),
  };
}

interface Tally {
  seconds: number;
  tokens: number;
}
const tally = (): Tally => ({ seconds: 0, tokens: 0 });
async function add(t: Tally, body: () => Promise<number>): Promise<void> {
  const { seconds, value } = await timed(body);
  t.seconds += seconds;
  t.tokens += value;
}

/**
 * The systems run alternately, request by request and round by round, so a change in the machine's load
 * (two cores, shared) falls on both sides of every ratio alike.
 */
async function measure() {
  const ours = await ourSystem();
  const theirs = await transformersJsSystem();
  const alone = { ours: tally(), theirs: tally() };
  log(`one request at a time, ${ALONE_REQUESTS} requests each, alternating`);
  for (const p of freshPrompts(0).slice(0, ALONE_REQUESTS)) {
    await add(alone.ours, () => ours.alone(p));
    await add(alone.theirs, () => theirs.alone(p));
  }
  const concurrent = { ours: tally(), theirs: tally(), theirsStatic: tally() };
  for (let round = 1; round <= ROUNDS; round++) {
    log(`32 concurrent requests, round ${round} of ${ROUNDS}`);
    const batch = freshPrompts(round);
    await add(concurrent.ours, () => ours.concurrent(batch));
    await add(concurrent.theirs, () => theirs.concurrent(batch));
    await add(concurrent.theirsStatic, () => theirs.staticBatch(batch));
  }
  const sc = { single: tally(), k8: tally() };
  const sampling = { maxTokens: NEW_TOKENS, temperature: 0.7, seed: 3 };
  for (let round = 0; round < ROUNDS; round++) {
    log(`self-consistency k=${SC_SAMPLES} against one sample, round ${round + 1} of ${ROUNDS}`);
    const [a, b] = freshPrompts(ROUNDS + 1 + round);
    await add(sc.single, () => runOurs(ours.engine, { prompt: a, sampling }));
    await add(sc.k8, () => runOurs(ours.engine, { prompt: b, sampling: { ...sampling, n: SC_SAMPLES } }));
  }
  await ours.engine.close();
  await theirs.model.dispose();
  return { alone, concurrent, sc };
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
  const stepKV = Array.from({ length: 2 * c.numDecoderLayers }, () => step);
  for (let i = 0; i < past; i++) cache.append(stepKV);
  const feeds = {
    inputIds: int64Feed(prompts.map(() => [5])),
    encoderAttentionMask: cache.encoderMask,
    ...cache.selfAttentionFeeds(),
    past: cache.past,
    cross: cache.cross,
  };
  await runner.decodeStep(feeds);
  // Step and MatMul alternate, best of three each, so a busy moment does not land on one side only.
  const steps = 10;
  let best = Infinity;
  let matmul = 0;
  for (let round = 0; round < 3; round++) {
    const { seconds } = await timed(async () => {
      for (let i = 0; i < steps; i++) await runner.decodeStep(feeds);
    });
    best = Math.min(best, seconds / steps);
    matmul = Math.max(matmul, await matmulGflops(1024, 1024, 1024, session, 1));
  }
  await runner.release();
  return { stepMs: best * 1000, gflops: (decodeStepFlops(c, past, PROMPT_TOKENS) * REQUESTS) / best / 1e9, matmul };
}

const { alone, concurrent, sc } = await measure();
log('decode step GFLOP/s and MatMul baseline');
const step = await measureStepGflops();
const matmul = step.matmul;

const rate = (t: Tally) => t.tokens / t.seconds;
const msPerToken = (t: Tally) => (t.seconds / t.tokens) * 1000;
const round = (x: number, digits = 3) => Number(x.toPrecision(digits));
const result = {
  bench: 'decode',
  model: 'flan-t5-small shape, seeded random weights (f32)',
  workload: { requests: REQUESTS, promptTokens: PROMPT_TOKENS, newTokens: NEW_TOKENS, greedy: true, rounds: ROUNDS, aloneRequests: ALONE_REQUESTS },
  machine: { cpus: cpus().length, threads: intraOpThreads(session.threads), device: session.device },
  ours: {
    oneAtATimeTokensPerSec: round(rate(alone.ours)),
    concurrent32TokensPerSec: round(rate(concurrent.ours)),
    msPerTokenAlone: round(msPerToken(alone.ours)),
    selfConsistencyK8Seconds: round(sc.k8.seconds / ROUNDS),
    oneSampledCompletionSeconds: round(sc.single.seconds / ROUNDS),
  },
  transformersJs: {
    oneAtATimeTokensPerSec: round(rate(alone.theirs)),
    concurrent32CallsTokensPerSec: round(rate(concurrent.theirs)),
    staticBatch32TokensPerSec: round(rate(concurrent.theirsStatic)),
    msPerTokenAlone: round(msPerToken(alone.theirs)),
  },
  decodeStep: { batch: REQUESTS, pastTokens: PROMPT_TOKENS, ms: round(step.stepMs), gflops: round(step.gflops), matmulGflops: round(matmul), fractionOfMatmul: round(step.gflops / matmul) },
  ratios: {
    concurrentVsOneAtATime: round(rate(concurrent.ours) / rate(alone.ours)),
    concurrentVsTransformersJsCalls: round(rate(concurrent.ours) / rate(concurrent.theirs)),
    concurrentVsTransformersJsStaticBatch: round(rate(concurrent.ours) / rate(concurrent.theirsStatic)),
    msPerTokenAloneVsTransformersJs: round(msPerToken(alone.ours) / msPerToken(alone.theirs)),
    selfConsistencyK8VsOneSample: round(sc.k8.seconds / sc.single.seconds),
  },
  goals: {
    concurrentVsOneAtATime: '>= 10',
    concurrentVsTransformersJsCalls: '>= 5',
    msPerTokenAloneVsTransformersJs: '<= 0.8',
    selfConsistencyK8VsOneSample: '<= 2.5',
  },
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
