import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { ADMIN, BASE_MODEL, startLabServer, waitFor, type LabServer } from './helpers/lab-server.ts';
import { get, json, post } from './helpers/test-server.ts';

const jsonl = [
  { inputs: 'color of the sky', targets: 'blue' },
  { inputs: 'color of grass', targets: 'green' },
  { prompt: 'opposite of up', completion: 'down' },
]
  .map((e) => JSON.stringify(e))
  .join('\n');
const tiny = { max_source_length: 32, max_target_length: 8, held_out_fraction: 0 };
type Job = OpenAI.FineTuning.FineTuningJob;
const seq = (id: string) => Number(id.replace('ftevent-', ''));

describe.skipIf(!hasShared)('files and fine-tuning as the official clients use them', () => {
  const root = mkdtempSync(join(tmpdir(), 'flan-lab-conformance-'));
  const dataDir = join(root, 'data');
  let server: LabServer;
  let client: OpenAI;

  beforeAll(async () => {
    server = await startLabServer(dataDir, makeTinyModelDir({ seed: 5 }));
    client = server.client;
  });
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const upload = async () => client.files.create({ file: await toFile(Buffer.from(jsonl), 'train.jsonl'), purpose: 'fine-tune' });
  const createJob = (file: string, steps: number) =>
    client.fineTuning.jobs.create({ model: BASE_MODEL, training_file: file, flan: { ...tiny, steps } } as OpenAI.FineTuning.JobCreateParams);
  const terminal = (job: Job) => ['succeeded', 'failed', 'cancelled'].includes(job.status);

  it('serves a file\'s content and deletes it', async () => {
    const file = await upload();
    const content = await client.files.content(file.id);
    expect(await content.text()).toBe(jsonl);
    const deleted = await client.files.delete(file.id);
    expectMatchesSchema('FileDeleted', deleted);
    expect(deleted).toEqual({ id: file.id, object: 'file', deleted: true });
    expect((await client.files.list()).data.map((f) => f.id)).not.toContain(file.id);
    const again = await client.files.delete(file.id).catch((e: unknown) => e);
    expect((again as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
  });

  it('refuses to delete the file of a running job, and cancels with the empty body the Python client sends', async () => {
    const file = await upload();
    const job = await createJob(file.id, 10_000);
    const refused = await client.files.delete(file.id).catch((e: unknown) => e);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(409);
    expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe('file_in_use');
    const cancel = await post(`${server.url}/v1/fine_tuning/jobs/${job.id}/cancel`, '', ADMIN);
    expect(cancel.status, await cancel.clone().text()).toBe(200);
    expect((await waitFor(() => client.fineTuning.jobs.retrieve(job.id), terminal)).status).toBe('cancelled');
    expect((await client.files.delete(file.id)).deleted).toBe(true);
  });

  it('lists a job\'s events newest first, `after` paging back in time', async () => {
    const file = await upload();
    const job = await createJob(file.id, 3);
    await waitFor(() => client.fineTuning.jobs.retrieve(job.id), terminal);
    const first = await client.fineTuning.jobs.listEvents(job.id, { limit: 3 });
    const ids = first.data.map((e) => seq(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(first.data[0].message).toMatch(/succeeded/i);
    expect(first.has_more).toBe(true);
    const older = await client.fineTuning.jobs.listEvents(job.id, { limit: 100, after: first.data[2].id });
    expect(older.data.length).toBeGreaterThan(0);
    expect(older.data.every((e) => seq(e.id) < ids[2])).toBe(true);
    expect(older.data[older.data.length - 1].message).toMatch(/created/i);
  });

  it('lists jobs without reading their events', async () => {
    const events = vi.spyOn(server.lab.jobs, 'events');
    const page = await client.fineTuning.jobs.list({ limit: 10 });
    expect(page.data.length).toBeGreaterThan(0);
    const trained = page.data.find((j) => j.status === 'succeeded')!;
    expect(trained.trained_tokens).toBeGreaterThan(0);
    expect(events).not.toHaveBeenCalled();
    events.mockRestore();
  });

  it('skips a corrupt file record in the list instead of failing it', async () => {
    const good = await upload();
    writeFileSync(join(dataDir, 'files', 'file-0123456789abcdef01234567.json'), '{"id": "file-01234');
    const res = await get(`${server.url}/v1/files`, ADMIN);
    expect(res.status).toBe(200);
    expect((await json(res)).data.map((f: { id: string }) => f.id)).toContain(good.id);
  });
});
