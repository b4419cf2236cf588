// Entry of a worker thread that runs a TypeScript module (workerData.entry), through tsx as the CLI
// does (bin/flan-serve.js): a worker does not inherit the loader of the thread that started it. The
// engine's worker and the upload checker's both start here.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
