/**
 * flan-serve through HTTP against Hugging Face transformers (T5ForConditionalGeneration, torch, CPU) in
 * the same run, on one flan-t5-small-shaped random checkpoint that both load. Each round alternates the
 * systems (order rotated per round) on:
 * - 32 concurrent completions through HTTP vs HF's static padded batch of 32: tokens/s, peak RSS;
 * - one request: ms/token and time to first token (HF: generate of 1 token);
 * and checks that every output is token-identical (HF's ids decoded by the model's tokenizer).
 * Our server runs as `flan-serve serve` in a child process, the engine in its worker, once per weight
 * kind in BENCH_WEIGHTS (default f32,int8). Prints one JSON object: medians of the rounds and ratios.
 *
 *   npm run bench -- vs-hf      (BENCH_ROUNDS=3 BENCH_WEIGHTS=f32,int8,int4)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../runtime/checkpoint/tokenizer.ts';
import { seededPrompts, writeBenchModel } from './bench-model.ts';
import { hfPython, startHfPeer } from './hf-venv.ts';
import { median } from './latency-stats.ts';

const REQUESTS = 32;
const PROMPT_TOKENS = 64;
const NEW_TOKENS = 64;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WEIGHTS = (process.env.BENCH_WEIGHTS ?? 'f32,int8').split(',');
/** Children of an interrupted run go with it. */
const children = new Set<ChildProcess>();
process.once('SIGINT', () => process.exit(130));
process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));
const log = (msg: string) => process.stderr.write(`[bench vs-hf] ${msg}\n`);
const repo = fileURLToPath(new URL('..', import.meta.url));

interface Measured {
  batchTokensPerSecond: number;
  batchPeakRssMiB: number;
  singleMsPerToken: number;
  firstTokenMs: number;
  texts: string[];
}

/** Resident set of a process, read from /proc; sampled every 20 ms while `body` runs, peak returned. */
async function withPeakRss<T>(pid: number, body: () => Promise<T>): Promise<{ result: T; peakMiB: number }> {
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  let peak = rss();
  const timer = setInterval(() => (peak = Math.max(peak, rss())), 20);
  try {
    const result = await body();
    return { result, peakMiB: Math.max(peak, rss()) };
  } finally {
    clearInterval(timer);
  }
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

async function startOurs(modelDir: string, weights: string) {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/flan-serve.js', 'serve', '--model', modelDir, '--model-id', 'bench', '--port', String(port)], {
    cwd: repo,
    env: { ...process.env, FLAN_WEIGHTS: weights, FLAN_DATA_DIR: mkdtempSync(join(tmpdir(), 'flan-vs-hf-')) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  const url = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (tries > 600 || child.exitCode !== null) throw new Error(`flan-serve (${weights}) did not become ready`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const post = (prompt: number[], maxTokens: number, stream = false) =>
    fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bench', prompt, max_tokens: maxTokens, stream }),
    });
  const complete = async (prompt: number[]) => ((await (await post(prompt, NEW_TOKENS)).json()) as { choices: { text: string }[] }).choices[0].text;
  /** Streams one completion: the time to its first event and to its end, and its text. */
  const streamed = async (prompt: number[]) => {
    const started = performance.now();
    const body = (await post(prompt, NEW_TOKENS, true)).body!;
    let firstMs = 0;
    let raw = '';
    const decoder = new TextDecoder();
    for await (const chunk of body) {
      firstMs ||= performance.now() - started;
      raw += decoder.decode(chunk, { stream: true });
    }
    const text = raw
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => (JSON.parse(l.slice(6)) as { choices: { text: string }[] }).choices[0]?.text ?? '')
      .join('');
    return { firstMs, totalMs: performance.now() - started, text };
  };
  await complete(seededPrompts(1, PROMPT_TOKENS, 32128, 5)[0]); // warm-up
  return { name: `flan-serve-${weights}`, child, complete, streamed };
}

async function startHf(python: string, modelDir: string) {
  const { child, info, request } = await startHfPeer(python, 'hf_cpu_peer.py', [modelDir]);
  children.add(child);
  const generate = (prompts: number[][], newTokens: number) => request<{ ids: number[][]; seconds: number }>({ cmd: 'generate', prompts, newTokens });
  await generate(seededPrompts(2, PROMPT_TOKENS, 32128, 5), 2); // warm-up
  return { info, child, generate };
}

type Ours = Awaited<ReturnType<typeof startOurs>>;
type Hf = Awaited<ReturnType<typeof startHf>>;

async function measureOurs(ours: Ours, prompts: number[][], single: number[]): Promise<Measured> {
  const started = performance.now();
  const { result: texts, peakMiB } = await withPeakRss(ours.child.pid!, () => Promise.all(prompts.map(ours.complete)));
  const seconds = (performance.now() - started) / 1000;
  const one = await ours.streamed(single);
  return {
    batchTokensPerSecond: (prompts.length * NEW_TOKENS) / seconds,
    batchPeakRssMiB: peakMiB,
    singleMsPerToken: one.totalMs / NEW_TOKENS,
    firstTokenMs: one.firstMs,
    texts: [...texts, one.text],
  };
}

async function measureHf(hf: Hf, prompts: number[][], single: number[], decode: (ids: number[]) => string): Promise<Measured> {
  const { result: batch, peakMiB } = await withPeakRss(hf.child.pid!, () => hf.generate(prompts, NEW_TOKENS));
  const one = await hf.generate([single], NEW_TOKENS);
  const first = await hf.generate([single], 1);
  return {
    batchTokensPerSecond: (prompts.length * NEW_TOKENS) / batch.seconds,
    batchPeakRssMiB: peakMiB,
    singleMsPerToken: (one.seconds * 1000) / NEW_TOKENS,
    firstTokenMs: first.seconds * 1000,
    texts: [...batch.ids, one.ids[0]].map(decode),
  };
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const r1 = (x: number) => Math.round(x * 10) / 10;
const load = () => loadavg().map(r2);

async function main() {
  const peer = hfPython(log);
  if ('skipped' in peer) {
    log(`skipped: ${peer.skipped}`);
    console.log(JSON.stringify({ skipped: peer.skipped }));
    return;
  }
  const { dir, config } = writeBenchModel();
  const tokenizer = loadTokenizer(dir);
  const decode = (ids: number[]) => tokenizer.decode(ids, { skipSpecialTokens: true });
  const hf = await startHf(peer.python, dir);
  const ours: Ours[] = [];
  for (const w of WEIGHTS) ours.push(await startOurs(dir, w));
  const idleRssMiB = Object.fromEntries([['hf', hf.child.pid!], ...ours.map((o) => [o.name, o.child.pid!])].map(([n, pid]) => [n, r1(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024)]));
  const results = new Map<string, Measured[]>([['hf', []], ...ours.map((o) => [o.name, []] as [string, Measured[]])]);
  const agreement = new Map<string, { same: number; total: number }>(ours.map((o) => [o.name, { same: 0, total: 0 }]));
  const loads: number[][] = [load()];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Prompts differ per round in their first token, so no round is helped by an encoder cache.
      const prompts = seededPrompts(REQUESTS + 1, PROMPT_TOKENS, config.vocabSize, 11).map((p, i) => [100 + round * (REQUESTS + 1) + i, ...p.slice(1)]);
      const single = prompts.pop()!;
      const systems: (() => Promise<void>)[] = [
        async () => void results.get('hf')!.push(await measureHf(hf, prompts, single, decode)),
        ...ours.map((o) => async () => void results.get(o.name)!.push(await measureOurs(o, prompts, single))),
      ];
      for (let s = 0; s < systems.length; s++) await systems[(s + round) % systems.length]();
      const hfTexts = results.get('hf')!.at(-1)!.texts;
      for (const o of ours) {
        const a = agreement.get(o.name)!;
        results.get(o.name)!.at(-1)!.texts.forEach((t, i) => {
          a.total++;
          if (t === hfTexts[i]) a.same++;
        });
      }
      loads.push(load());
      const line = [...results].map(([n, m]) => `${n} ${m.at(-1)!.batchTokensPerSecond.toFixed(0)} tok/s`).join(', ');
      log(`round ${round}: ${line}; load ${loads.at(-1)!.join(' ')}`);
    }
  } finally {
    hf.child.stdin!.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    for (const o of ours) o.child.kill('SIGTERM');
  }
  const summary = (ms: Measured[]) => ({
    batch32TokensPerSecond: r1(median(ms.map((m) => m.batchTokensPerSecond))),
    batch32PeakRssMiB: r1(median(ms.map((m) => m.batchPeakRssMiB))),
    singleMsPerToken: r2(median(ms.map((m) => m.singleMsPerToken))),
    firstTokenMs: r1(median(ms.map((m) => m.firstTokenMs))),
  });
  const hfSummary = summary(results.get('hf')!);
  const ourSummaries = Object.fromEntries(
    ours.map((o) => {
      const s = summary(results.get(o.name)!);
      const a = agreement.get(o.name)!;
      return [
        o.name,
        {
          ...s,
          vsHf: {
            batch32Throughput: r2(s.batch32TokensPerSecond / hfSummary.batch32TokensPerSecond),
            singleMsPerToken: r2(s.singleMsPerToken / hfSummary.singleMsPerToken),
            firstToken: r2(s.firstTokenMs / hfSummary.firstTokenMs),
            batch32PeakRss: r2(s.batch32PeakRssMiB / hfSummary.batch32PeakRssMiB),
          },
          identicalToHf: `${a.same}/${a.total}`,
        },
      ];
    }),
  );
  console.log(
    JSON.stringify({
      shape: 'flan-t5-small (random weights)',
      requests: REQUESTS,
      promptTokens: PROMPT_TOKENS,
      newTokens: NEW_TOKENS,
      rounds: ROUNDS,
      loadAverage: loads,
      hf: { ...hf.info, ompWaitPolicy: process.env.OMP_WAIT_POLICY ?? 'PASSIVE', ...hfSummary },
      idleRssMiB,
      ...ourSummaries,
    }),
  );
}

await main();
