import { mkdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { DataFormatError } from '../data/instruction-example.ts';
import { runTraining, type TrainingEvent, type TrainingResult, type TrainingSpec } from './training-run.ts';

/**
 * The child process a job trains in (started by spawnTrainingWorker), so the server's event loop and
 * its onnxruntime threads never wait on a train step. It receives one start message over IPC, reports
 * each event, and exits; killing it at any moment is safe because checkpoints are written atomically.
 * It dies with the server: an orphan would keep training the job that the restarted server trains
 * again in the same directory, and no cancel would reach it. The job directory is locked while it
 * trains, so that two processes never write one job's checkpoints.
 */

export type WorkerRequest = { type: 'start'; spec: TrainingSpec; workDir: string };
export type WorkerMessage =
  | { type: 'event'; event: TrainingEvent }
  | { type: 'done'; result: TrainingResult }
  | { type: 'failed'; message: string; code: 'invalid_training_file' | 'training_error' };

// A job is background work: below the server's priority, so a train step never delays a decode step.
setPriority(Math.min(19, getPriority() + 10));

const send = (m: WorkerMessage) => new Promise<void>((resolve) => process.send!(m, () => resolve()));

// The IPC channel closes when the parent exits, however it exits (kill -9 included)...
process.once('disconnect', () => process.exit(1));
// ...and, should the channel outlive it somehow, a changed parent pid says the same (re-parented to init).
const parentPid = process.ppid;
setInterval(() => process.ppid !== parentPid && process.exit(1), 1_000).unref();

/** How long a lock of a killed process takes to count as stale; it is refreshed well within that. */
const LOCK_STALE_MS = 20_000;

/** Locks the job directory for this process; waits out a stale lock, fails if another process holds it. */
async function lockJobDirectory(workDir: string): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  await lockfile.lock(workDir, {
    lockfilePath: join(workDir, 'training.lock'),
    stale: LOCK_STALE_MS,
    update: LOCK_STALE_MS / 4,
    retries: { retries: 30, minTimeout: 1_000, maxTimeout: 1_000 },
    // Another process took the directory (this one stalled past the stale time): stop writing to it.
    onCompromised: () => process.exit(1),
  });
}

process.once('message', (request: WorkerRequest) => {
  void (async () => {
    try {
      await lockJobDirectory(request.workDir).catch((err: Error) => {
        throw new Error(`the job directory is locked by another training process: ${err.message}`);
      });
      const result = await runTraining(request.spec, request.workDir, (event) => void send({ type: 'event', event }));
      await send({ type: 'done', result });
      process.exit(0);
    } catch (err) {
      const code = err instanceof DataFormatError ? 'invalid_training_file' : 'training_error';
      await send({ type: 'failed', message: err instanceof Error ? err.message : String(err), code });
      process.exit(1);
    }
  })();
});
