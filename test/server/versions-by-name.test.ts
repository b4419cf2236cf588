import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModelDir } from '../finetune/tiny-model-dir.ts';
import { ADMIN, BASE_MODEL, BASE_VERSION, startLabServer, waitFor, type LabServer } from './helpers/lab-server.ts';
import { post } from './helpers/test-server.ts';

const taught = 'color of the sky';
const examples = Array.from({ length: 8 }, () => ({ inputs: taught, targets: 'blue' }));

/**
 * What the official OpenAI client sees of a fine-tuned model, with the engine in its worker thread as
 * `flan-serve serve` runs it: the `ft:` name answers as soon as the job succeeds, beside the base model
 * answering with its own weights; activate and rollback move only the base's alias; delete removes it.
 */
describe('a fine-tuned model served by its name beside its base', () => {
  const root = mkdtempSync(join(tmpdir(), 'flan-by-name-'));
  let server: LabServer;
  let client: OpenAI;
  beforeAll(async () => {
    server = await startLabServer(join(root, 'data'), writeTinyModelDir(join(root, 'base')), { worker: true });
    client = server.client;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const answer = async (model: string) => {
    const res = await client.completions.create({ model, prompt: taught, max_tokens: 6, temperature: 0 });
    return { text: res.choices[0].text, servedBy: res.system_fingerprint };
  };

  it('answers by its ft name at once, lists it, and leaves the base serving its own weights', async () => {
    const file = await client.files.create({ file: await toFile(Buffer.from(examples.map((e) => JSON.stringify(e)).join('\n')), 'train.jsonl'), purpose: 'fine-tune' });
    const before = await answer(BASE_MODEL);
    const job = await client.fineTuning.jobs.create({
      model: BASE_MODEL,
      training_file: file.id,
      suffix: 'sky',
      // Trained on the prompt as it is asked. With the instruction templates, which a job draws from
      // its seed (random when not given), the bare prompt is one of four forms trained on, and some
      // seeds leave it answering "ble" (1 of the 510 seeds tried: 595022250, which CI drew once on
      // f1a9945). The seed is fixed as well, so every run trains the same weights.
      seed: 595022250,
      flan: { steps: 40, learning_rate: 3e-2, max_source_length: 16, max_target_length: 8, held_out_fraction: 0, templates: 'none' },
    } as OpenAI.FineTuning.JobCreateParams);
    const done = await waitFor(() => client.fineTuning.jobs.retrieve(job.id), (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status), 100);
    expect(done.status).toBe('succeeded');
    const ft = done.fine_tuned_model!;

    // No activation: the name answers the moment the job reports success.
    const tuned = await answer(ft);
    expect(tuned.servedBy).toBe(ft);
    expect(tuned.text).toBe('blue');
    const base = await answer(BASE_MODEL);
    expect(base).toEqual(before);
    expect(base.servedBy).toBe(BASE_VERSION);
    expect(base.text).not.toBe(tuned.text);

    const listed = (await client.models.list()).data;
    expect(listed.map((m) => m.id)).toEqual([BASE_MODEL, ft]);
    const described = await client.models.retrieve(ft);
    expect(described).toMatchObject({ id: ft, object: 'model', owned_by: 'user' });
    expect(described.created).toBeGreaterThan(0);
  }, 120_000);

  it('activate and rollback move the base name only; delete removes the ft model', async () => {
    const ft = (await client.models.list()).data[1].id;
    const tunedText = (await answer(ft)).text;
    const admin = (path: string) => post(`${server.url}/admin/models${path}`, {}, ADMIN);

    expect((await admin(`/${encodeURIComponent(ft)}/activate`)).status).toBe(200);
    expect(await answer(BASE_MODEL)).toEqual({ text: tunedText, servedBy: ft });
    expect((await answer(ft)).servedBy).toBe(ft);
    expect((await answer(BASE_VERSION)).servedBy).toBe(BASE_VERSION);

    expect((await admin('/rollback')).status).toBe(200);
    expect((await answer(BASE_MODEL)).servedBy).toBe(BASE_VERSION);
    expect((await answer(ft)).text).toBe(tunedText);

    expect(await client.models.delete(ft)).toEqual({ id: ft, object: 'model', deleted: true });
    await expect(answer(ft)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([BASE_MODEL]);
    expect((await answer(BASE_MODEL)).servedBy).toBe(BASE_VERSION);
  }, 60_000);
});
