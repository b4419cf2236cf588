import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parentPort, workerData } from 'node:worker_threads';
import { countInstructionExamples, DataFormatError } from './instruction-example.ts';

/** The worker side of checkJsonlOffThread: streams the file, checks each line, posts the outcome. */
export type JsonlCheckOutcome = { examples: number } | { problems: DataFormatError['problems'] } | { error: string };

const { path, file } = workerData as { path: string; file: string };
const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
countInstructionExamples(lines, file).then(
  (examples) => parentPort!.postMessage({ examples } satisfies JsonlCheckOutcome),
  (err: unknown) =>
    parentPort!.postMessage((err instanceof DataFormatError ? { problems: err.problems } : { error: String((err as Error).message ?? err) }) satisfies JsonlCheckOutcome),
);
