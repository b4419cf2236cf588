import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobManager, type PublishedModel } from '../../finetune/jobs/job-manager.ts';
import { tinyJsonl, writeTinyModelDir } from './tiny-model-dir.ts';

const root = mkdtempSync(join(tmpdir(), 'flan-continual-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a continual job', () => {
  it('takes examples while it runs and publishes only versions whose held-out loss did not get worse', async () => {
    const baseModelDir = writeTinyModelDir(join(root, 'base'));
    const trainingFile = join(root, 'train.jsonl');
    writeFileSync(trainingFile, tinyJsonl);
    const published: PublishedModel[] = [];
    const manager = JobManager.open({ dataDir: join(root, 'data'), publisher: { publish: async (v) => void published.push(v) } });
    const job = manager.create({
      spec: {
        baseModelDir,
        trainingFile,
        method: { kind: 'full' },
        // A rate this high overshoots now and then, so some versions come out worse than the best.
        optimizer: { kind: 'adamw', lr: 0.05, weightDecay: 0 },
        steps: 16,
        batch: { batchSize: 2, microBatches: 1, packed: false, maxSourceLength: 32, maxTargetLength: 8 },
        seed: 5,
        heldOutFraction: 0.34,
        checkpointEvery: 4,
        continual: { publishEvery: 2 },
      },
      publish: true,
    });
    const firstVersion = new Promise<void>((resolve) => {
      const off = manager.subscribe(job.id, (e) => e.type === 'version' && (off(), resolve()));
    });
    await firstVersion;
    const more = [{ inputs: 'capital of France', targets: 'Paris' }, { inputs: 'capital of Italy', targets: 'Rome' }];
    expect(manager.addExamples(job.id, more.map((e) => JSON.stringify(e)).join('\n'))).toEqual({ added: 2 });
    expect(() => manager.addExamples(job.id, '{"inputs": "x"}')).toThrow(/line 1/);
    await manager.idle();

    const events = manager.events(job.id);
    expect(manager.get(job.id).status).toBe('succeeded');
    expect(events.some((e) => e.type === 'examples_added' && e.data!.added === 2)).toBe(true);
    // Every offered version was published, in order, each no worse on the held-out split than the last.
    const losses = published.map((p) => p.heldOutLoss!);
    expect(published.length).toBeGreaterThanOrEqual(2);
    losses.slice(1).forEach((loss, i) => expect(loss).toBeLessThanOrEqual(losses[i]));
    const rejected = events.filter((e) => e.type === 'version_rejected');
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    for (const r of rejected) {
      const before = published.filter((p) => Number(p.id.split('step-')[1] ?? Infinity) < Number(r.data!.step));
      expect(Number(r.data!.held_out_loss)).toBeGreaterThan(Math.min(...before.map((p) => p.heldOutLoss!)));
    }
    await manager.close();
  });
});
