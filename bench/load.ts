/**
 * Load on the embedded model through HTTP: 64 streaming clients asking flan-mini for 60 s (each opens a
 * stream, reads it to [DONE], starts again), with /healthz polled throughout. Prints one JSON object:
 * requests, errors, /healthz latency percentiles, and the process's RSS before, at peak and after the
 * load (after 10 s idle, to see it come back). The server runs as `flan-serve serve` in its own process.
 * `npm run bench -- load [seconds] [clients]`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { latencySummary } from './latency-stats.ts';

const SECONDS = Number(process.argv[3] ?? 60);
const CLIENTS = Number(process.argv[4] ?? 64);
const CLI = fileURLToPath(new URL('../bin/flan-serve.js', import.meta.url));
const PROMPTS = ['Review: The acting was brilliant.\nIs this review positive or negative?', 'What is 7 plus 5?', 'Sort these words: pear apple fig', 'Reverse the words: red green blue'];

// The server in its own process, as `npm start` runs it (the clients here must not share its event loop).
const server = spawn(process.execPath, [CLI, 'serve'], {
  env: { ...process.env, PORT: '0', FLAN_API_KEYS: '', FLAN_DATA_DIR: mkdtempSync(join(tmpdir(), 'flan-load-')) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let url = '';
for await (const line of createInterface({ input: server.stdout! })) {
  const entry = JSON.parse(line) as { msg: string };
  url ||= /Server listening at (http:\/\/[^\s,]+)/.exec(entry.msg)?.[1] ?? '';
  if (entry.msg === 'model ready') break;
}
server.stdout!.resume();
/** The server process's resident memory (VmRSS), in MiB. */
const rssMiB = () => Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))![1]) / 1024);

async function stream(prompt: string): Promise<void> {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'flan-mini', prompt, max_tokens: 32, stream: true }),
  });
  const text = await res.text();
  if (res.status !== 200 || !text.trimEnd().endsWith('data: [DONE]')) throw new Error(`status ${res.status}: ${text.slice(-200)}`);
}

await stream(PROMPTS[0]); // warm-up: the first request's allocations are the baseline's
const rssBefore = rssMiB();
let rssPeak = rssBefore;
const deadline = performance.now() + SECONDS * 1000;
let requests = 0;
const errors: string[] = [];
const health: number[] = [];
const clients = Array.from({ length: CLIENTS }, async (_, c) => {
  for (let i = 0; performance.now() < deadline; i++) {
    try {
      await stream(PROMPTS[(c + i) % PROMPTS.length]);
      requests++;
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
});
const poller = (async () => {
  while (performance.now() < deadline) {
    const started = performance.now();
    await (await fetch(`${url}/healthz`)).arrayBuffer();
    health.push(performance.now() - started);
    rssPeak = Math.max(rssPeak, rssMiB());
    await new Promise((r) => setTimeout(r, 20));
  }
})();
await Promise.all([...clients, poller]);
// Idle for a while: V8 and the allocator give memory back lazily.
await new Promise((r) => setTimeout(r, 10_000));
const rssAfter = rssMiB();
server.kill('SIGTERM');

console.log(
  JSON.stringify({
    model: 'flan-mini',
    clients: CLIENTS,
    seconds: SECONDS,
    requests,
    errors: errors.length,
    firstErrors: errors.slice(0, 3),
    healthzMs: latencySummary(health),
    serverRssMiB: { before: rssBefore, peak: rssPeak, after: rssAfter, afterOverBefore: Math.round((rssAfter / rssBefore) * 100) / 100 },
  }),
);
