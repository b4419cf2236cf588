import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineError, GenerationEvent } from '../../runtime/engine/engine-api.ts';
import { modelRefFor } from '../../runtime/engine/engine-core.ts';
import { EngineClient } from '../../runtime/engine/engine-client.ts';
import type { Silence } from '../../runtime/engine/worker-watch.ts';
import { isInstalled } from '../helpers/installed-command.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';

const session = { device: 'cpu' as const, threads: 1 };
/** Longer than loading the tiny model takes on a busy machine (the load blocks the worker's thread too). */
const STALL_MS = 10_000;

/**
 * The watchdog of the engine worker. A worker terminated inside an onnxruntime run aborts the whole
 * process (and would take the vitest fork with it), so these tests stand in for a long run with a
 * blocked thread (helpers/slow-runs-worker.ts), which terminating cannot crash: what they check is
 * whether the client terminates a worker in the middle of one.
 */
describe.skipIf(!hasShared)('the engine worker watchdog', () => {
  const model = modelRefFor(hasShared ? makeTinyModelDir({ seed: 3 }) : '', 'model-w');
  const dir = mkdtempSync(join(tmpdir(), 'flan-watchdog-'));
  const arm = join(dir, 'arm');
  const log = join(dir, 'log');
  let client: EngineClient | undefined;

  afterEach(async () => {
    rmSync(arm, { force: true });
    rmSync(log, { force: true });
    await client?.close(0);
    client = undefined;
  });

  function slowClient(ms: number, mode: 'native' | 'js', options: { stallMs?: number; onRestart?: (e: Error) => void } = {}) {
    const workerEntry = new URL('./helpers/slow-runs-worker.ts', import.meta.url);
    Object.entries({ arm, log, ms: String(ms), mode }).forEach(([k, v]) => workerEntry.searchParams.set(k, v));
    // At the HTTP thread's priority: a thread stuck in JavaScript shows as stuck only for the time it
    // runs (time waiting for a CPU does not count), and at the engine's default nice on a machine busy
    // with other test files it would run a tenth of the time.
    return new EngineClient({ session, workerEntry, nice: 0, ...options });
  }
  const logged = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  async function until(condition: () => boolean) {
    while (!condition()) await new Promise((r) => setTimeout(r, 20));
  }
  const longRequest = () => ({ model, prompt: 'a long answer please', sampling: { maxTokens: 1000, temperature: 1 } });
  async function outcome(events: AsyncIterable<GenerationEvent>): Promise<string> {
    try {
      for await (const _ of events);
      return 'finished';
    } catch (err) {
      return (err as EngineError).code;
    }
  }

  it('close waits for a run in flight to return before it terminates the worker, however long the grace ran out before', async () => {
    client = slowClient(4_000, 'native');
    await client.load(model);
    writeFileSync(arm, '');
    const running = outcome(client.generate(longRequest()));
    await until(() => logged().includes('start'));
    // The worker cannot even read the close command until the run returns: past grace + 2 s the client
    // gave up on it and terminated it mid-run before.
    await client.close(0);
    client = undefined;
    expect(logged()).toEqual(['start', 'end']);
    expect(await running).toBe('unavailable');
  });

  it('replaces a worker stuck in a run: its requests fail with 503 at once, the old worker is terminated once the run returns', async () => {
    const restarts: Error[] = [];
    // Disarmed before the new worker loads its models, so that only the first worker is slow.
    client = slowClient(20_000, 'native', { stallMs: STALL_MS, onRestart: (e) => (restarts.push(e), rmSync(arm, { force: true })) });
    await client.load(model);
    const stuck = (client as unknown as { worker: { once(e: 'exit', f: () => void): void } }).worker;
    const oldExit = new Promise<string[]>((resolve) => stuck.once('exit', () => resolve(logged())));
    writeFileSync(arm, '');
    expect(await outcome(client.generate(longRequest()))).toBe('unavailable');
    // Failed while the run was still stuck, not after it.
    expect(logged()).toEqual(['start']);
    expect(restarts).toHaveLength(1);
    expect(restarts[0].message).toMatch(/no progress for \d+ ms \(inside an onnxruntime call\)/);
    expect(await oldExit).toEqual(['start', 'end']);
    // The replacement serves (the model loaded on request is loaded in it again).
    const again = client.generate({ model, prompt: 'color of the sky', sampling: { maxTokens: 4 } });
    expect(await outcome(again)).toBe('finished');
  });

  it('replaces a worker whose thread is stuck in JavaScript', async () => {
    const restarts: Error[] = [];
    client = slowClient(120_000, 'js', { stallMs: STALL_MS, onRestart: (e) => (restarts.push(e), rmSync(arm, { force: true })) });
    await client.load(model);
    writeFileSync(arm, '');
    const started = Date.now();
    expect(await outcome(client.generate(longRequest()))).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(restarts[0].message).toMatch(/no progress for \d+ ms \(in JavaScript\)/);
    expect(await outcome(client.generate({ model, prompt: 'color of the sky', sampling: { maxTokens: 4 } }))).toBe('finished');
  });

  /** Where a process can be put on one CPU with another that keeps it busy, and the kernel says how long a thread waited for it. */
  const canStarve = isInstalled('taskset') && existsSync('/proc/self/schedstat');

  it.skipIf(!canStarve)('does not replace a worker starved of CPU: the time its thread waited for one is not counted', async () => {
    const stallMs = 1_500;
    // The first CPU this process may use; the loading process and a spinner share it.
    const cpu = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(\d+)/m)![1];
    const spinner = spawn('taskset', ['-c', cpu, process.execPath, '-e', 'for (;;);'], { stdio: 'ignore' });
    try {
      const helper = new URL('./helpers/starved-engine.ts', import.meta.url).pathname;
      const out = execFileSync('taskset', ['-c', cpu, process.execPath, '--import', 'tsx', helper, model.dir, String(stallMs)], { encoding: 'utf8' });
      const { restarts, longest, load } = JSON.parse(out) as { restarts: string[]; longest: Silence; load: string };
      // The starvation is real: the worker's thread was silent past the limit...
      expect(longest.silentMs).toBeGreaterThan(stallMs);
      expect(restarts).toEqual([]);
      expect(load).toBe('loaded');
      // ...mostly waiting for the CPU.
      expect(longest.silentMs - longest.cpuWaitMs).toBeLessThan(stallMs);
    } finally {
      spinner.kill('SIGKILL');
    }
  });
});
