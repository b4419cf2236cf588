/**
 * The engine core in its worker, seen through HTTP, against the same engine driven in this thread, on
 * the flan-t5-small shape with seeded random weights: 32 concurrent greedy completions of 64-token
 * prompts, 64 new tokens each. While the HTTP batch runs, /healthz is polled; afterwards a prompt of
 * 1 MiB is sent. Prints one JSON object: healthz latencies, the refusal time, and tokens/s of both
 * paths with their ratio (the issue asks >= 0.9).
 */
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../runtime/engine/engine-core.ts';
import { ENGINE_SPINNING, EngineClient } from '../runtime/engine/engine-client.ts';
import { sessionConfigFromEnv } from '../runtime/onnx-session.ts';
import { ModelCatalog } from '../runtime/versions/model-catalog.ts';
import { VersionStore } from '../runtime/versions/version-store.ts';
import { buildApp } from '../server/app.ts';
import { Serving } from '../server/server-context.ts';
import { seededPrompts, writeBenchModel } from './bench-model.ts';
import { latencySummary } from './latency-stats.ts';

const REQUESTS = 32;
const PROMPT_TOKENS = 64;
const NEW_TOKENS = 64;
const ROUNDS = 2;
const log = (msg: string) => process.stderr.write(`[bench engine-core] ${msg}\n`);

// The same session options on both paths: the worker's threads spin only within runs (engine-client.ts).
const session = { ...sessionConfigFromEnv(), spinning: ENGINE_SPINNING };
const limits = { maxBatchSequences: REQUESTS };
const { dir, config } = writeBenchModel();
/** Round r's prompts differ in their first token, so no round is helped by the encoder cache. */
const promptsFor = (round: number) => seededPrompts(REQUESTS, PROMPT_TOKENS, config.vocabSize, 11).map((p, i) => [100 + round * REQUESTS + i, ...p.slice(1)]);
const round1 = (x: number) => Math.round(x * 10) / 10;

async function serverRun() {
  const engine = new EngineClient({ session, limits });
  const catalog = new ModelCatalog(VersionStore.open(join(mkdtempSync(join(tmpdir(), 'flan-bench-store-')), 'v.sqlite')), engine);
  const serving = new Serving(engine, catalog);
  await catalog.addBase('flan-t5-small', dir);
  serving.ready = true;
  const app = await buildApp({ serving, config: { apiKeys: [] } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const complete = (prompt: number[] | string, maxTokens = NEW_TOKENS) =>
    fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'flan-t5-small', prompt, max_tokens: maxTokens }) });
  await (await complete(promptsFor(99)[0], 4)).json(); // warm-up
  return { url, complete, close: () => app.close() };
}

async function main() {
  const server = await serverRun();
  const health: number[] = [];
  const http: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let running = true;
    const poller = (async () => {
      while (running) {
        const started = performance.now();
        await (await fetch(`${server.url}/healthz`)).arrayBuffer();
        health.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const started = performance.now();
    const bodies = await Promise.all(promptsFor(round).map(async (p) => (await server.complete(p)).json() as Promise<{ usage: { completion_tokens: number } }>));
    const seconds = (performance.now() - started) / 1000;
    running = false;
    await poller;
    http.push(bodies.reduce((s, b) => s + b.usage.completion_tokens, 0) / seconds);
    log(`HTTP round ${round}: ${http.at(-1)!.toFixed(1)} tok/s`);
  }
  const refuseStart = performance.now();
  const refused = await server.complete('x'.repeat(1024 * 1024 - 200));
  const refuseMs = performance.now() - refuseStart;
  await server.close();

  const engine = await createEngine({ modelDir: dir, session, limits });
  const inProcess: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    const counts = await Promise.all(
      promptsFor(round).map(async (prompt) => {
        let n = 0;
        for await (const e of engine.generate({ prompt, sampling: { maxTokens: NEW_TOKENS } })) if (e.type === 'token') n++;
        return n;
      }),
    );
    inProcess.push(counts.reduce((a, b) => a + b, 0) / ((performance.now() - started) / 1000));
    log(`in-process round ${round}: ${inProcess.at(-1)!.toFixed(1)} tok/s`);
  }
  await engine.close();

  const best = (xs: number[]) => Math.max(...xs);
  console.log(
    JSON.stringify({
      shape: 'flan-t5-small (random weights)',
      requests: REQUESTS,
      promptTokens: PROMPT_TOKENS,
      newTokens: NEW_TOKENS,
      threads: session.threads,
      spinning: session.spinning,
      healthzMs: latencySummary(health),
      oneMiBPrompt: { status: refused.status, ms: round1(refuseMs) },
      tokensPerSecond: { http: http.map(round1), inProcess: inProcess.map(round1) },
      httpOverInProcess: Math.round((best(http) / best(inProcess)) * 100) / 100,
    }),
  );
}

await main();
