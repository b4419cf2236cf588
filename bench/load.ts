/**
 * Load on the embedded model through HTTP: 64 streaming clients asking flan-mini for 60 s (each opens a
 * stream, reads it to [DONE], starts again), with /healthz polled throughout. Prints one JSON object:
 * requests, errors, /healthz latency percentiles, CPU seconds of the server's HTTP thread and of its other
 * threads, the load average, and the process's RSS at five points (see `serverRssMiB`).
 * The server runs as `flan-serve serve` in its own process. `npm run bench -- load [seconds] [clients]`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { latencySummary } from './latency-stats.ts';

const SECONDS = Number(process.argv[3] ?? 60);
const CLIENTS = Number(process.argv[4] ?? 64);
/** Long enough for the batch to fill and every buffer the load needs to exist: the baseline's high water. */
const WARMUP_SECONDS = 5;
/** V8 and the allocators give memory back lazily. */
const IDLE_MS = 10_000;
const LONG_IDLE_MS = 60_000;
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
/** CPU seconds (user + system) of the server's main (HTTP) thread and of all its other threads together. */
function threadCpuSeconds(): { http: number; other: number } {
  const ticks = (tid: string) => {
    const fields = readFileSync(`/proc/${server.pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  };
  let http = 0;
  let other = 0;
  for (const tid of readdirSync(`/proc/${server.pid}/task`)) {
    try {
      if (tid === String(server.pid)) http += ticks(tid);
      else other += ticks(tid);
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return { http: http / 100, other: other / 100 }; // USER_HZ is 100 on Linux
}
const idle = () => new Promise((r) => setTimeout(r, IDLE_MS));

async function stream(prompt: string): Promise<void> {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'flan-mini', prompt, max_tokens: 32, stream: true }),
  });
  const text = await res.text();
  if (res.status !== 200 || !text.trimEnd().endsWith('data: [DONE]')) throw new Error(`status ${res.status}: ${text.slice(-200)}`);
}

/** CLIENTS clients streaming back to back for `seconds`; counts requests and errors. */
async function drive(seconds: number, errors: string[]): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let requests = 0;
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
  await Promise.all(clients);
  return requests;
}

/**
 * /healthz polled every 20 ms from a thread of its own: this process's event loop is busy with the
 * clients' streams, and its delays would be counted as the server's.
 */
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
const times = [];
let stop = false;
parentPort.once('message', () => (stop = true));
(async () => {
  while (!stop) {
    const started = performance.now();
    await (await fetch(workerData + '/healthz')).arrayBuffer();
    times.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 20));
  }
  parentPort.postMessage(times);
})();`;

await stream(PROMPTS[0]);
const afterOneRequest = rssMiB();
const warmupErrors: string[] = [];
await drive(WARMUP_SECONDS, warmupErrors);
await idle();
const afterWarmup = rssMiB();

const loadBefore = loadavg()[0];
const cpuBefore = threadCpuSeconds();
const poller = new Worker(POLLER, { eval: true, workerData: url });
const polled = new Promise<number[]>((resolve) => poller.once('message', resolve));
// The same poll from this busy event loop, as earlier versions of this bench measured it.
const fromClientLoop: number[] = [];
let peak = afterWarmup;
let loading = true;
const inLoopPoller = (async () => {
  while (loading) {
    const started = performance.now();
    await (await fetch(`${url}/healthz`)).arrayBuffer();
    fromClientLoop.push(performance.now() - started);
    peak = Math.max(peak, rssMiB());
    await new Promise((r) => setTimeout(r, 20));
  }
})();
const errors: string[] = [...warmupErrors];
const requests = await drive(SECONDS, errors);
loading = false;
poller.postMessage('stop');
const [health] = await Promise.all([polled, inLoopPoller]);
await poller.terminate();
const cpuAfter = threadCpuSeconds();
const loadAfter = loadavg()[0];
await idle();
const after = rssMiB();
// V8's memory reducer and the allocators keep giving back for a while longer.
await new Promise((r) => setTimeout(r, LONG_IDLE_MS - IDLE_MS));
const afterLongIdle = rssMiB();
server.kill('SIGTERM');

const round = (x: number, places = 2) => Math.round(x * 10 ** places) / 10 ** places;
console.log(
  JSON.stringify({
    model: 'flan-mini',
    clients: CLIENTS,
    seconds: SECONDS,
    requests,
    errors: errors.length,
    firstErrors: errors.slice(0, 3),
    healthzMs: latencySummary(health),
    healthzMsFromClientLoop: latencySummary(fromClientLoop),
    // CPU time is what the work costs whatever else the machine runs; wall-clock figures are not.
    serverCpuSeconds: {
      http: round(cpuAfter.http - cpuBefore.http),
      other: round(cpuAfter.other - cpuBefore.other),
      httpMsPerRequest: round(((cpuAfter.http - cpuBefore.http) * 1000) / requests, 3),
    },
    loadAverage1m: { before: loadBefore, after: loadAfter },
    // afterOneRequest: one request served; afterWarmup: a 5 s burst of the same load and 10 s idle (the
    // baseline: every buffer the load needs exists); peak during the load; after: 10 s idle after it;
    // afterLongIdle: 60 s idle after it.
    serverRssMiB: {
      afterOneRequest,
      afterWarmup,
      peak,
      after,
      afterLongIdle,
      afterOverWarmup: round(after / afterWarmup),
      afterLongIdleOverWarmup: round(afterLongIdle / afterWarmup),
    },
  }),
);
