import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobManager, JobRequestError, type JobEvent, type PublishedModel } from '../../finetune/jobs/job-manager.ts';
import type { TrainingSpec } from '../../finetune/jobs/training-run.ts';
import { writeMergedAdapterDir } from '../../finetune/jobs/model-export.ts';
import { readAdapterDir } from '../../runtime/checkpoint/lora-adapter.ts';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { tinyJsonl, tinyLoraSpec, writeTinyModelDir } from './tiny-model-dir.ts';

const root = mkdtempSync(join(tmpdir(), 'flan-jobs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const baseModelDir = writeTinyModelDir(join(root, 'tiny-base'));
const trainingFile = join(root, 'train.jsonl');
writeFileSync(trainingFile, tinyJsonl);

const spec = (steps: number): TrainingSpec => tinyLoraSpec(baseModelDir, trainingFile, steps, { evalEvery: 2 });

/** Resolves with the first event of the job that matches. */
function waitForEvent(manager: JobManager, jobId: string, match: (e: JobEvent) => boolean): Promise<JobEvent> {
  return new Promise((resolve) => {
    const off = manager.subscribe(jobId, (e) => {
      if (match(e)) {
        off();
        resolve(e);
      }
    });
  });
}

describe('JobManager', () => {
  it('rejects a training file with bad lines, naming them, and queues nothing', () => {
    const bad = join(root, 'bad.jsonl');
    writeFileSync(bad, `${tinyJsonl}\n{"inputs": 1}\nnot json`);
    const manager = JobManager.open({ dataDir: join(root, 'reject') });
    try {
      expect(() => manager.create({ spec: { ...spec(2), trainingFile: bad } })).toThrow(JobRequestError);
      expect(() => manager.create({ spec: { ...spec(2), trainingFile: bad } })).toThrow(/line 7: .*\n {2}line 8: not valid JSON/);
      expect(manager.list()).toEqual([]);
    } finally {
      void manager.close();
    }
  });

  it('trains in a worker, reports per-step events, registers the version and hot-swaps it in', async () => {
    const published: PublishedModel[] = [];
    const manager = JobManager.open({ dataDir: join(root, 'ok'), publisher: { publish: async (v) => void published.push(v) } });
    const job = manager.create({ spec: spec(4), publish: true, suffix: 'tiny' });
    expect(job.status).toMatch(/queued|running/);
    await manager.idle();
    const done = manager.get(job.id);
    expect(done.status).toBe('succeeded');
    expect(done.trainedSteps).toBe(4);
    expect(done.fineTunedModel).toBe(`ft:tiny-base:tiny:${job.id}`);

    const metrics = manager.events(job.id).filter((e) => e.type === 'metrics');
    expect(metrics.map((e) => e.data!.step)).toEqual([1, 2, 3, 4]);
    for (const e of metrics) expect(Object.keys(e.data!).sort()).toEqual(['eta_seconds', 'grad_norm', 'learning_rate', 'loss', 'step', 'tokens', 'tokens_per_second']);
    expect(manager.events(job.id).filter((e) => e.type === 'eval').length).toBeGreaterThanOrEqual(2);

    expect(published.map((p) => p.id)).toEqual([done.fineTunedModel]);
    const [version] = manager.checkpoints(job.id);
    expect(version.published).toBe(true);
    expect(manager.checkpoints(job.id).map((v) => v.id)).toEqual([done.fineTunedModel]);
    // A LoRA job publishes an adapter version over its base; its merged export is a complete model.
    expect(version.kind).toBe('adapter');
    expect(readAdapterDir(published[0].modelDir).spec).toEqual({ rank: 2, alpha: 4, targets: ['q', 'v'] });
    const merged = join(root, 'merged');
    writeMergedAdapterDir(merged, baseModelDir, published[0].modelDir);
    expect(loadModelDir(merged, { requireTokenizer: true }).tokenizer).toBeDefined();
    const svg = manager.lossCurve(job.id);
    expect(svg).toMatch(/^<svg[^>]*>.*<polyline.*<\/svg>$/s);
    await manager.close();
  });

  it('keeps the job a success but reports it when the new version fails to load for serving', async () => {
    const manager = JobManager.open({ dataDir: join(root, 'publish-fails'), publisher: { publish: async () => Promise.reject(new Error('bad weights')) } });
    const job = manager.create({ spec: spec(1), publish: true });
    await manager.idle();
    expect(manager.get(job.id).status).toBe('succeeded');
    expect(manager.checkpoints(job.id)[0].published).toBe(false);
    expect(manager.events(job.id).find((e) => e.type === 'publish_failed')?.message).toMatch(/previous version keeps serving: bad weights/);
    await manager.close();
  });

  it('requeues a job that was running when the server stopped and resumes it from its checkpoint', async () => {
    const dataDir = join(root, 'restart');
    const first = JobManager.open({ dataDir });
    const job = first.create({ spec: spec(8) });
    // Metrics of step 2 are reported before its checkpoint is written, so step 1's is the last sure one.
    await waitForEvent(first, job.id, (e) => e.type === 'metrics' && Number(e.data!.step) >= 2);
    await first.close();

    const second = JobManager.open({ dataDir });
    await second.idle();
    const done = second.get(job.id);
    expect(done.status).toBe('succeeded');
    const events = second.events(job.id);
    expect(events.some((e) => e.type === 'requeued')).toBe(true);
    expect(events.filter((e) => e.type === 'started').at(-1)!.message).toMatch(/^Resumed at step [1-8] of 8/);
    await second.close();
  });

  it('cancels a running job', async () => {
    const manager = JobManager.open({ dataDir: join(root, 'cancel') });
    const job = manager.create({ spec: spec(10_000) });
    await waitForEvent(manager, job.id, (e) => e.type === 'metrics');
    manager.cancel(job.id);
    await manager.idle();
    expect(manager.get(job.id).status).toBe('cancelled');
    expect(() => manager.cancel(job.id)).toThrow(/already cancelled/);
    await manager.close();
  });
});
