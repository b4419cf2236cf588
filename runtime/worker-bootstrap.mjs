// Entry of a worker thread that runs a TypeScript module (workerData.entry), through tsx as the CLI
// does (bin/flan-serve.js): a worker does not inherit the loader of the thread that started it. The
// engine's worker and the upload checker's both start here.
import { readlinkSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

// The thread's id on Linux, told to a starter that asks (workerData.threadId, one Int32 of shared
// memory) before anything loads: the engine's watchdog reads from the start how long the thread has
// waited for a CPU (runtime/engine/worker-watch.ts), and the engine worker sets its priority by it.
if (workerData.threadId instanceof SharedArrayBuffer) {
  try {
    Atomics.store(new Int32Array(workerData.threadId), 0, Number(readlinkSync('/proc/thread-self').split('/').pop()));
  } catch {
    // Not Linux: the id stays 0, unknown.
  }
}
register();
await import(workerData.entry);
