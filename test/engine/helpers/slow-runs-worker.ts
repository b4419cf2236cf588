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
const ranBefore = new WeakSet<object>();

session.run = function (this: unknown, ...args: unknown[]) {
  const armed = existsSync(arm);
  if (armed && mode === 'native') {
    appendFileSync(log, 'start\n');
    Atomics.wait(sleeper, 0, 0, ms);
    appendFileSync(log, 'end\n');
  }
  const out = original.apply(this, args);
  // Busy once a decoder step's logits have returned, outside any native call: an encoder pass is
  // followed at once by the cross-attention pass, and a screened decoder's pass by the f32 head where
  // logits are asked for (runtime/screened-head.ts), each in flight from the moment it is asked for.
  // A session's first run is the placement probe of its creation (the f32 head is made at its first
  // use), which the real run follows at once.
  const feeds = args[0] as object;
  const logits = (this as { outputNames: readonly string[] }).outputNames.includes('logits');
  const probe = !ranBefore.has(this as object);
  ranBefore.add(this as object);
  if (armed && mode === 'js' && logits && !probe && ('past_mask' in feeds || 'head_input' in feeds)) {
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
