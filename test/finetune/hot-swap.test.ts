import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobManager } from '../../finetune/jobs/job-manager.ts';
import { DEFAULT_LIMITS, EngineCore } from '../../runtime/engine/engine-core.ts';
import { ModelCatalog } from '../../runtime/versions/model-catalog.ts';
import { VersionStore, versionStorePath } from '../../runtime/versions/version-store.ts';
import { tinyJsonl, writeTinyModelDir } from './tiny-model-dir.ts';

const root = mkdtempSync(join(tmpdir(), 'flan-hotswap-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('finetune then hot-swap under load', () => {
  it('finetunes a tiny model (its loss falls) and swaps it in while requests stream, failing none', async () => {
    const baseModelDir = writeTinyModelDir(join(root, 'tiny-base'));
    const trainingFile = join(root, 'train.jsonl');
    writeFileSync(trainingFile, tinyJsonl);
    const session = { device: 'cpu' as const, threads: 1 };
    const engine = new EngineCore(DEFAULT_LIMITS, session);
    const catalog = new ModelCatalog(VersionStore.open(versionStorePath(join(root, 'data'))), engine);
    await catalog.addBase('tiny-base', baseModelDir);
    const publisher = { publish: async (v: { id: string }) => void (await catalog.activate(v.id)) };
    const manager = JobManager.open({ dataDir: join(root, 'data'), versions: catalog.store, publisher });
    const served = () => catalog.resolve('tiny-base')!.ref;

    // A steady stream of requests, four at a time, until told to stop; every one must complete.
    let stop = false;
    let failures = 0;
    const servedBy = new Map<string, number>();
    const client = async () => {
      while (!stop) {
        // Clients name the base model; the alias decides which version serves them.
        const model = served();
        try {
          let done = false;
          for await (const e of engine.generate({ model, prompt: 'color of the sky', sampling: { maxTokens: 6 } })) if (e.type === 'done') done = true;
          if (!done) failures++;
          servedBy.set(model.id, (servedBy.get(model.id) ?? 0) + 1);
        } catch {
          failures++;
        }
      }
    };
    const clients = Array.from({ length: 4 }, client);

    const job = manager.create({
      spec: {
        baseModelDir,
        trainingFile,
        method: { kind: 'full' },
        optimizer: { kind: 'adafactor', lr: 1e-2 },
        steps: 12,
        batch: { batchSize: 4, microBatches: 1, packed: true, maxSourceLength: 64, maxTargetLength: 16 },
        seed: 1,
        heldOutFraction: 0,
        checkpointEvery: 6,
      },
      publish: true,
      suffix: 'swap',
    });
    await manager.idle();
    const version = manager.get(job.id).fineTunedModel!;
    expect(manager.get(job.id).status).toBe('succeeded');
    expect(manager.events(job.id).some((e) => e.type === 'published')).toBe(true);
    expect(served().id).toBe(version);
    // Keep streaming on the new weights for a moment before stopping.
    while ((servedBy.get(version) ?? 0) < 8) await new Promise((r) => setTimeout(r, 5));
    stop = true;
    await Promise.all(clients);

    expect(failures).toBe(0);
    expect(servedBy.get('tiny-base@base')).toBeGreaterThan(0);
    const losses = manager.events(job.id).filter((e) => e.type === 'metrics').map((e) => Number(e.data!.loss));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-3))).toBeLessThan(mean(losses.slice(0, 3)) * 0.8);

    // A version that cannot load is refused and the current one keeps serving.
    catalog.store.add({ id: 'broken', parentDir: baseModelDir, jobId: job.id, modelDir: join(root, 'missing'), heldOutLoss: null });
    await expect(catalog.activate('broken')).rejects.toThrow(/failed to load/);
    expect(served().id).toBe(version);
    await manager.close();
    catalog.store.close();
    await engine.close();
  });
});
