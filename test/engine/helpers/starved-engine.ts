/**
 * Loads a model into an engine worker whose process shares one CPU with a busier one: run under
 * `taskset -c <one CPU>` beside a spinner pinned there, the worker (nice 10 against the spinner's 0) gets a
 * tenth of the CPU, so a load that takes a fraction of a second takes seconds. Prints, as JSON, how
 * many times the watchdog replaced the worker, the longest silence seen and how much of it was
 * waiting for a CPU, and how the load ended. Arguments: the model directory, the watchdog limit (ms).
 */
import { modelRefFor } from '../../../runtime/engine/engine-core.ts';
import { EngineClient } from '../../../runtime/engine/engine-client.ts';
import type { Silence, WorkerWatch } from '../../../runtime/engine/worker-watch.ts';

const [dir, stallMs] = [process.argv[2], Number(process.argv[3])];
const restarts: string[] = [];
const client = new EngineClient({ session: { device: 'cpu', threads: 1 }, stallMs, onRestart: (e) => restarts.push(e.message) });
// The client's own watch (a second one would beat on the worker's behalf when made).
const watch = (client as unknown as { watch: WorkerWatch }).watch;
const longest: Silence = { silentMs: 0, cpuWaitMs: 0 };
const look = setInterval(() => {
  const now = watch.silence();
  if (now.silentMs > longest.silentMs) Object.assign(longest, now);
}, 20);
const started = Date.now();
let load: string;
try {
  await client.load(modelRefFor(dir, 'starved'));
  load = 'loaded';
} catch (err) {
  load = (err as Error).message;
}
const loadMs = Date.now() - started;
clearInterval(look);
await client.close(0);
console.log(JSON.stringify({ restarts, longest, load, loadMs }));
