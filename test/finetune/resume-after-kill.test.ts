import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnTrainingWorker } from '../../finetune/jobs/spawn-worker.ts';
import { jobPaths, runTraining, TrainingCancelled, type TrainingEvent, type TrainingSpec } from '../../finetune/jobs/training-run.ts';
import { SafetensorsFile, writeSafetensors } from '../../runtime/checkpoint/safetensors.ts';
import { tinyJsonl, writeTinyModelDir } from './tiny-model-dir.ts';

const root = mkdtempSync(join(tmpdir(), 'flan-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const baseModelDir = writeTinyModelDir(join(root, 'base'));
const trainingFile = join(root, 'train.jsonl');
writeFileSync(trainingFile, tinyJsonl);
const spec: TrainingSpec = {
  baseModelDir,
  trainingFile,
  method: { kind: 'full' },
  optimizer: { kind: 'adafactor', lr: 1e-2 },
  steps: 12,
  batch: { batchSize: 2, microBatches: 2, packed: true, maxSourceLength: 48, maxTargetLength: 16, templates: { fewShotRate: 0.5 } },
  maxGradNorm: 1,
  seed: 17,
  heldOutFraction: 0.2,
  checkpointEvery: 1,
};

describe('a training job killed mid-run', () => {
  it('resumes from its last checkpoint to the same final weights as an unbroken run, bit for bit', async () => {
    const unbroken = join(root, 'unbroken');
    const losses: number[] = [];
    await runTraining(spec, unbroken, (e) => e.type === 'step' && losses.push(e.loss));
    expect(losses).toHaveLength(12);

    const broken = join(root, 'broken');
    let killedAfter = 0;
    const worker = spawnTrainingWorker(spec, broken, (m) => {
      if (m.type === 'event' && m.event.type === 'checkpoint' && m.event.step === 3) {
        killedAfter = m.event.step;
        worker.child.kill('SIGKILL');
      }
    });
    const exit = await worker.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(killedAfter).toBe(3);
    expect(existsSync(jobPaths(broken).model)).toBe(false);

    const events: TrainingEvent[] = [];
    await runTraining(spec, broken, (e) => events.push(e));
    const started = events.find((e): e is Extract<TrainingEvent, { type: 'started' }> => e.type === 'started')!;
    expect(started.resumed).toBe(true);
    expect(started.step).toBeGreaterThanOrEqual(3);
    expect(started.step).toBeLessThan(12);
    // The same machine: the checkpoint's kernels are this process's.
    expect(started.kernelsChanged).toBe(false);

    const weights = (dir: string) => readFileSync(join(jobPaths(dir).model, 'model.safetensors'));
    expect(weights(broken).equals(weights(unbroken))).toBe(true);
  });

  it('says so when it resumes on CPU kernels other than those that wrote its checkpoint', async () => {
    const dir = join(root, 'moved');
    await expect(runTraining(spec, dir, () => undefined, () => existsSync(jobPaths(dir).checkpoint))).rejects.toBeInstanceOf(TrainingCancelled);
    // As another machine class would have written it: the same checkpoint under another kernel fingerprint.
    const path = jobPaths(dir).checkpoint;
    const file = SafetensorsFile.open(path);
    const tensors = file.names().map((name) => ({ name, dtype: 'F32' as const, shape: file.info(name).shape, data: file.readFloat32(name) }));
    const metadata = { ...file.metadata, kernels: `not-${file.metadata.kernels}` };
    file.close();
    writeSafetensors(path, tensors, metadata);

    const events: TrainingEvent[] = [];
    await runTraining({ ...spec, steps: 2 }, dir, (e) => events.push(e));
    expect(events.find((e) => e.type === 'started')).toMatchObject({ resumed: true, kernelsChanged: true });
  });
});
