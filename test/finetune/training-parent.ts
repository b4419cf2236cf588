// A stand-in server for test/finetune/training-process-lifetime.test.ts: starts a training worker for
// the spec given as JSON in argv[2] in the directory argv[3], prints the worker's pid, and waits to be killed.
import { spawnTrainingWorker } from '../../finetune/jobs/spawn-worker.ts';

const worker = spawnTrainingWorker(JSON.parse(process.argv[2]), process.argv[3], (m) => {
  if (m.type === 'event' && m.event.type === 'step') process.stdout.write(`step ${m.event.step}\n`);
});
process.stdout.write(`pid ${worker.child.pid}\n`);
setInterval(() => {}, 1_000);
