import { getPriority, setPriority } from 'node:os';
import { DataFormatError } from '../data/instruction-example.ts';
import { runTraining, type TrainingEvent, type TrainingResult, type TrainingSpec } from './training-run.ts';

/**
 * The child process a job trains in (started by spawnTrainingWorker), so the server's event loop and
 * its onnxruntime threads never wait on a train step. It receives one start message over IPC, reports
 * each event, and exits; killing it at any moment is safe because checkpoints are written atomically.
 */

export type WorkerRequest = { type: 'start'; spec: TrainingSpec; workDir: string };
export type WorkerMessage =
  | { type: 'event'; event: TrainingEvent }
  | { type: 'done'; result: TrainingResult }
  | { type: 'failed'; message: string; code: 'invalid_training_file' | 'training_error' };

// A job is background work: below the server's priority, so a train step never delays a decode step.
setPriority(Math.min(19, getPriority() + 10));

const send = (m: WorkerMessage) => new Promise<void>((resolve) => process.send!(m, () => resolve()));

process.once('message', (request: WorkerRequest) => {
  void (async () => {
    try {
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
