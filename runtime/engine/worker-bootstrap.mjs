// A worker thread runs plain JavaScript; this registers tsx in it (as bin/flan-serve.js does for the
// main thread) and then loads the TypeScript entry named in workerData.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
