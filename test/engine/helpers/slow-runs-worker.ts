/**
 * The engine worker with a stand-in for an onnxruntime run that takes long, for the watchdog tests:
 * while the file `arm` (a query parameter of this module's URL) exists, every session run first blocks
 * its thread for `ms` (mode `native`: inside the run, as a long native call does) or leaves the thread
 * busy in JavaScript for `ms` after a decoder step (mode `js`). Each blocked run appends `start` and `end`
 * lines to the file `log`, so a test can tell whether the worker was terminated in the middle.
 */
import { appendFileSync, existsSync } from 'node:fs';
import ort from 'onnxruntime-node';

const params = new URL(import.meta.url).searchParams;
const [arm, log, ms, mode] = [params.get('arm')!, params.get('log')!, Number(params.get('ms')), params.get('mode')];
const sleeper = new Int32Array(new SharedArrayBuffer(4));
type Run = (...args: unknown[]) => Promise<unknown>;
// The class behind onnxruntime-common's InferenceSession (typed there as a factory only).
const session = (ort.InferenceSession as unknown as { prototype: { run: Run } }).prototype;
const original = session.run;

session.run = function (this: unknown, ...args: unknown[]) {
  const armed = existsSync(arm);
  if (armed && mode === 'native') {
    appendFileSync(log, 'start\n');
    Atomics.wait(sleeper, 0, 0, ms);
    appendFileSync(log, 'end\n');
  }
  const out = original.apply(this, args);
  // Busy once a decoder step has returned, outside any native call (an encoder pass is followed at
  // once by the cross-attention pass, which counts as in flight from the moment it is asked for).
  if (armed && mode === 'js' && 'past_mask' in (args[0] as object)) {
    void out.then(() =>
      setImmediate(() => {
        const until = Date.now() + ms;
        while (Date.now() < until);
      }),
    );
  }
  return out;
};

await import('../../../runtime/engine/engine-worker.ts');
