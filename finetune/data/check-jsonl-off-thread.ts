import { Worker } from 'node:worker_threads';
import { DataFormatError } from './instruction-example.ts';
import type { JsonlCheckOutcome } from './jsonl-check-worker.ts';

const BOOTSTRAP = new URL('../../runtime/worker-bootstrap.mjs', import.meta.url);
const ENTRY = new URL('./jsonl-check-worker.ts', import.meta.url).href;

/**
 * Checks the finetuning JSONL at `path` in a worker thread, streaming it, so that a large or malformed
 * upload never stalls the server's event loop. Resolves with the number of examples; rejects with
 * DataFormatError naming each bad line (`file` is the name shown in it).
 */
export function checkJsonlOffThread(path: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(BOOTSTRAP, { workerData: { entry: ENTRY, path, file } });
    worker.once('message', (outcome: JsonlCheckOutcome) => {
      if ('examples' in outcome) resolve(outcome.examples);
      else if ('problems' in outcome) reject(new DataFormatError(file, outcome.problems));
      else reject(new Error(outcome.error));
      void worker.terminate();
    });
    worker.once('error', reject);
    // A worker that ends without an answer (killed, out of memory); a no-op once it has answered.
    worker.once('exit', (code) => reject(new Error(`the upload check stopped (exit code ${code})`)));
  });
}
