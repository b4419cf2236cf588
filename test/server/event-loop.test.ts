import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';
import { startLabServer, USER, type LabServer } from './helpers/lab-server.ts';
import { post } from './helpers/test-server.ts';

/** Latencies of GET /healthz polled back to back until `until` settles. */
async function pollHealth(url: string, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const latencies: number[] = [];
  while (!done) {
    const started = performance.now();
    const res = await fetch(`${url}/healthz`);
    await res.arrayBuffer();
    latencies.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 5));
  }
  return latencies;
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/**
 * The server's thread only moves messages: loading a model of the flan-t5-small shape (hundreds of
 * milliseconds of work in the thread that does it) and decoding a batch beside it leave /healthz
 * answering at once. Bounds are loose (the benchmark reports the real figures): on two shared cores a
 * timer can be late, but not by a whole model load.
 */
describe.skipIf(!hasShared)('the event loop while the engine works', () => {
  let server: LabServer;
  let bigModel: string;
  beforeAll(async () => {
    server = await startLabServer(mkdtempSync(join(tmpdir(), 'flan-loop-')), makeTinyModelDir({ seed: 3 }), { worker: true });
    bigModel = makeTinyModelDir({ seed: 4, dModel: 384, numHeads: 6, numLayers: 6 });
  }, 120_000);
  afterAll(() => server?.close());

  it('answers /healthz within milliseconds while a model loads and a batch decodes', async () => {
    const loading = server.serving.catalog.addBase('big', bigModel);
    const decoding = Promise.all(
      Array.from({ length: 16 }, (_, i) => post(`${server.url}/v1/completions`, { model: 'flan-tiny', prompt: `count to ${i}`, max_tokens: 32 }, USER).then((r) => r.json() as Promise<{ choices?: { text: string }[] }>)),
    );
    const latencies = await pollHealth(server.url, Promise.all([loading, decoding]));
    const served = await decoding;
    expect(served.every((r) => r.choices?.[0]?.text !== undefined)).toBe(true);
    expect(latencies.length).toBeGreaterThan(10);
    expect(percentile(latencies, 99)).toBeLessThan(250);
  }, 120_000);

  it('refuses a prompt longer in bytes than the context could hold at once, without tokenizing it', async () => {
    const started = performance.now();
    const res = await post(`${server.url}/v1/completions`, { model: 'flan-tiny', prompt: 'x'.repeat(512 * 1024) }, USER);
    const elapsed = performance.now() - started;
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('context_length_exceeded');
    expect(elapsed).toBeLessThan(500);
  });
});
