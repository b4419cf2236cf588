/**
 * Decode-step time per weight format (FLAN_WEIGHTS) on the flan-t5-small shape with seeded random
 * weights, in-process, at batch 1 and 32: each batch holds 64-token prompts and 64 past tokens (a
 * step mid-generation), and the formats take turns round by round so load lands on all of them.
 * Prints one JSON object: per batch and format, the median ms per step over the rounds, each round's
 * median, and the ratio to f32 (below 1: faster). Steps are greedy (no logits asked for); f32 runs
 * with its screened head (runtime/screened-head.ts) and, as `f32-full-head`, with the f32 head.
 *
 *   npm run bench -- weight-formats        (BENCH_WEIGHTS=f32,int8,int4, BENCH_ROUNDS=5)
 */
import { readFileSync } from 'node:fs';
import { loadModelDir } from '../runtime/checkpoint/model-dir.ts';
import { BatchKVCache, sliceCrossRow } from '../runtime/engine/batch-kv-cache.ts';
import { parseWeightFormat } from '../runtime/graph/quantize-weights.ts';
import { int64Feed, ort, sessionConfigFromEnv } from '../runtime/onnx-session.ts';
import { T5Runner } from '../runtime/t5-runner.ts';
import { seededPrompts, writeBenchModel } from './bench-model.ts';
import { median } from './latency-stats.ts';

const PROMPT_TOKENS = 64;
const PAST_TOKENS = 64;
const STEPS_PER_ROUND = 12;
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

/** The decoder feeds of a batch mid-generation: its prompts encoded, PAST_TOKENS already in the cache. */
async function midGenerationFeeds(runner: T5Runner, prompts: number[][]) {
  const c = runner.config;
  const cross = await runner.crossKeyValues(await runner.encode(int64Feed(prompts), int64Feed(prompts.map((p) => p.map(() => 1)))));
  const cache = new BatchKVCache(c.numDecoderLayers, c.numHeads, c.dKv);
  cache.repack([], prompts.map((_, b) => sliceCrossRow(cross, b, PROMPT_TOKENS)));
  const step = new ort.Tensor('float32', new Float32Array(prompts.length * c.numHeads * c.dKv).fill(0.01), [prompts.length, c.numHeads, 1, c.dKv]);
  for (let i = 0; i < PAST_TOKENS; i++) cache.append(Array.from({ length: 2 * c.numDecoderLayers }, () => step));
  return { inputIds: int64Feed(prompts.map(() => [5])), encoderAttentionMask: cache.encoderMask, ...cache.selfAttentionFeeds(), past: cache.past, cross: cache.cross };
}

if (process.argv[2] === 'weight-formats') {
  const formats = (process.env.BENCH_WEIGHTS ?? 'f32,int8,int4').split(',').map(parseWeightFormat);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const session = sessionConfigFromEnv();
  const { dir } = writeBenchModel();
  const model = loadModelDir(dir);
  const runners = new Map<string, T5Runner>();
  for (const format of formats) {
    runners.set(format, await T5Runner.fromWeights(model.config, model.weights, { ...session, weights: format }));
    if (format === 'f32') runners.set('f32-full-head', await T5Runner.fromWeights(model.config, model.weights, { ...session, weights: format, screenedHead: false }));
  }
  const result: Record<string, unknown> = { shape: 'flan-t5-small (random weights)', promptTokens: PROMPT_TOKENS, pastTokens: PAST_TOKENS, threads: session.threads, rounds, loadAverage: [loadAverage()] };
  for (const batch of [1, 32]) {
    const prompts = seededPrompts(batch, PROMPT_TOKENS, model.config.vocabSize, 11);
    const feeds = new Map<string, Awaited<ReturnType<typeof midGenerationFeeds>>>();
    for (const [format, runner] of runners) feeds.set(format, await midGenerationFeeds(runner, prompts));
    const perRound = new Map<string, number[]>([...runners.keys()].map((f) => [f, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [format, runner] of runners) {
        await runner.decodeStep(feeds.get(format)!, { logits: false }); // warm: the first run of a shape plans its memory
        const times: number[] = [];
        for (let i = 0; i < STEPS_PER_ROUND; i++) {
          const start = performance.now();
          await runner.decodeStep(feeds.get(format)!, { logits: false });
          times.push(performance.now() - start);
        }
        perRound.get(format)!.push(median(times));
      }
    }
    const f32 = perRound.has('f32') ? median(perRound.get('f32')!) : undefined;
    const round2 = (x: number) => Math.round(x * 100) / 100;
    result[`batch${batch}`] = Object.fromEntries(
      [...perRound].map(([format, ms]) => [format, { msPerStep: round2(median(ms)), rounds: ms.map(round2), vsF32: f32 ? round2(median(ms) / f32) : null }]),
    );
    (result.loadAverage as number[][]).push(loadAverage());
  }
  for (const runner of runners.values()) await runner.release();
  console.log(JSON.stringify(result));
}
