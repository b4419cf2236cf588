import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { T5Weights } from '../../runtime/checkpoint/t5-weights.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';
import { BASE_MODEL, BASE_VERSION, startLabServer, type LabServer } from './helpers/lab-server.ts';
import { post } from './helpers/test-server.ts';

describe.skipIf(!hasShared)('a version whose weights are not finite is never served', () => {
  const root = mkdtempSync(join(tmpdir(), 'flan-servable-'));
  let server: LabServer;

  beforeAll(async () => {
    server = await startLabServer(join(root, 'data'), makeTinyModelDir({ seed: 4 }));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const cases: [string, (w: T5Weights) => void, RegExp][] = [
    ['NaN throughout a layer', (w) => w.get('encoder.block.0.layer.0.SelfAttention.q.weight')!.data.fill(Number.NaN), /not finite/],
    ['finite weights that overflow inside the network', (w) => w.get('encoder.block.0.layer.0.SelfAttention.q.weight')!.data.fill(3e38), /probe forward pass produced non-finite logits/],
    ['one Infinity in an embedding row no probe would touch', (w) => (w.get('shared.weight')!.data[32_000 * 32] = Number.POSITIVE_INFINITY), /Infinity.*not finite/],
  ];

  it.each(cases)('refuses to publish one with %s, and the base keeps serving', async (_name, alter, message) => {
    const modelDir = makeTinyModelDir({ seed: 4, alter });
    const { catalog } = server.serving;
    const id = `ft:${BASE_MODEL}:nan:ftjob-x${Math.random()}`;
    catalog.store.add({ id, parentDir: catalog.store.get(BASE_VERSION)!.modelDir, modelDir, jobId: 'ftjob-x', heldOutLoss: null });
    // What a job's hot swap (and an admin's activate) does: load first, then move the alias.
    await expect(catalog.activate(id)).rejects.toThrow(message);
    expect(catalog.store.alias(BASE_MODEL)?.versionId).toBe(BASE_VERSION);
    const res = await post(`${server.url}/v1/completions`, { model: BASE_MODEL, prompt: 'Hi', max_tokens: 2 }, 'sk-admin');
    expect(res.status).toBe(200);
    rmSync(modelDir, { recursive: true, force: true });
  });
});
