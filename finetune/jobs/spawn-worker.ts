import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { withHugePages } from '../../runtime/huge-pages.ts';
import type { TrainingSpec } from './training-run.ts';
import type { WorkerMessage, WorkerRequest } from './training-worker.ts';

const WORKER = fileURLToPath(new URL('./training-worker.ts', import.meta.url));
// tsx's loader by absolute URL: a bare `--import tsx` resolves from the server's working directory,
// which need not be the repository.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface TrainingWorker {
  child: ChildProcess;
  /** Resolves with the exit code and signal once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a training child process (TypeScript through tsx, as the CLI runs) and sends it the job. */
export function spawnTrainingWorker(spec: TrainingSpec, workDir: string, onMessage: (m: WorkerMessage) => void): TrainingWorker {
  const child = fork(WORKER, [], {
    execArgv: ['--import', TSX_LOADER],
    // Training touches gigabytes of fresh memory: huge pages make its first steps and its optimizer faster.
    env: withHugePages(process.env),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.on('message', (m) => onMessage(m as WorkerMessage));
  const request: WorkerRequest = { type: 'start', spec, workDir };
  child.send(request);
  return { child, exited };
}
