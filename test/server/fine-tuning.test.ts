import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { notServing } from './helpers/test-server.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { ADMIN, BASE_MODEL, BASE_VERSION, startLabServer, USER, waitFor, type LabServer } from './helpers/lab-server.ts';
import { get, json, post } from './helpers/test-server.ts';

const examples = [
  { inputs: 'color of the sky', targets: 'blue', task: 'facts' },
  { inputs: 'color of grass', targets: 'green', task: 'facts' },
  { messages: [{ role: 'user', content: '2 + 2' }, { role: 'assistant', content: '4' }] },
  { prompt: 'opposite of up', completion: 'down' },
  { inputs: 'opposite of hot', targets: 'cold', task: 'words' },
  { inputs: '3 + 1', targets: '4', rationale: 'three and one', task: 'math' },
];
const jsonl = examples.map((e) => JSON.stringify(e)).join('\n');
/** Small enough that a job of a few steps takes seconds on one thread. */
const tiny = { max_source_length: 32, max_target_length: 8, held_out_fraction: 0 };

// The extension object is ours; the client passes body fields through as given.
type CreateParams = OpenAI.FineTuning.JobCreateParams & { flan?: Record<string, unknown> };
type FlanJob = OpenAI.FineTuning.FineTuningJob & { flan: { steps: number; trained_steps: number; hot_swap: boolean; loss_curve: string } };
type FlanEvent = OpenAI.FineTuning.FineTuningJobEvent & { event: string; data: Record<string, number> };

describe.skipIf(!hasShared)('fine-tuning API through the openai client', () => {
  const root = mkdtempSync(join(tmpdir(), 'flan-ft-api-'));
  const dataDir = join(root, 'data');
  const modelDir = makeTinyModelDir({ seed: 3 });
  let server: LabServer;
  let client: OpenAI;
  let fileId: string;

  beforeAll(async () => {
    server = await startLabServer(dataDir, modelDir);
    client = server.client;
  });
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const createJob = async (params: CreateParams) => (await client.fineTuning.jobs.create(params as OpenAI.FineTuning.JobCreateParams)) as FlanJob;
  const retrieve = async (id: string) => (await client.fineTuning.jobs.retrieve(id)) as FlanJob;
  const terminal = (job: FlanJob) => ['succeeded', 'failed', 'cancelled'].includes(job.status);

  it('refuses an upload with bad lines, naming each line, and stores nothing', async () => {
    const bad = [JSON.stringify(examples[0]), '{"inputs": "no target"}', JSON.stringify(examples[1]), 'not json', ''].join('\n');
    const err = await client.files.create({ file: await toFile(Buffer.from(bad), 'bad.jsonl'), purpose: 'fine-tune' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const apiError = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(400);
    expect(apiError.code).toBe('invalid_file');
    expect(apiError.message).toMatch(/line 2:/);
    expect(apiError.message).toMatch(/line 4: not valid JSON/);
    expect(apiError.message).not.toMatch(/line (1|3):/);
    expect((await client.files.list()).data).toEqual([]);
    expect(readdirSync(join(dataDir, 'files'))).toEqual([]);
  });

  it('refuses an upload for another purpose, and the routes to an API key', async () => {
    const err = await client.files.create({ file: await toFile(Buffer.from(jsonl), 'a.jsonl'), purpose: 'assistants' }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((err as InstanceType<typeof OpenAI.APIError>).param).toBe('purpose');
    expect((await get(`${server.url}/v1/files`, USER)).status).toBe(403);
    expect((await get(`${server.url}/v1/fine_tuning/jobs`, USER)).status).toBe(403);
  });

  it('stores an upload and lists it', async () => {
    const file = await client.files.create({ file: await toFile(Buffer.from(jsonl), 'train.jsonl'), purpose: 'fine-tune' });
    expectMatchesSchema('FileObject', file);
    expect(file).toMatchObject({ object: 'file', filename: 'train.jsonl', bytes: Buffer.byteLength(jsonl), purpose: 'fine-tune', examples: 6 });
    fileId = file.id;
    expect((await client.files.list()).data.map((f) => f.id)).toEqual([fileId]);
    expect((await client.files.retrieve(fileId)).filename).toBe('train.jsonl');
  });

  // Training under a stream of completions: 46 s alone on two shared cores, past vitest's default
  // minute when another heavy file (the browser tests) runs beside it.
  it('finetunes, follows events to success, and hot-swaps the new version under a stream of completions with no failure', async () => {
    // Completions naming the base model, two at a time, until told to stop; every one must succeed.
    let stop = false;
    let failures = 0;
    const servedBy = new Map<string, number>();
    const stream = async () => {
      while (!stop) {
        try {
          const res = await client.completions.create({ model: BASE_MODEL, prompt: 'color of the sky', max_tokens: 4 });
          // The version that served it: the alias moves from the base to the finetuned one.
          const served = res.system_fingerprint!;
          servedBy.set(served, (servedBy.get(served) ?? 0) + 1);
        } catch {
          failures++;
        }
      }
    };
    const streams = [stream(), stream()];

    const job = await createJob({
      model: BASE_MODEL,
      training_file: fileId,
      suffix: 'swap',
      seed: 7,
      hyperparameters: { batch_size: 3, n_epochs: 'auto' },
      flan: { ...tiny, steps: 4, learning_rate: 1e-2, hot_swap: true },
    });
    expectMatchesSchema('FineTuningJob', job);
    expect(job).toMatchObject({ object: 'fine_tuning.job', model: BASE_MODEL, training_file: fileId, seed: 7, fine_tuned_model: null });
    expect(job.hyperparameters).toMatchObject({ batch_size: 3, n_epochs: 'auto' });
    expect(job.hyperparameters.learning_rate_multiplier).toBeCloseTo(10);
    expect(job.flan).toMatchObject({ steps: 4, hot_swap: true, trained_steps: 0 });

    // Follow the events as a client would: the newest page, keeping those not seen yet, in order.
    const events: FlanEvent[] = [];
    const seq = (e: FlanEvent) => Number(e.id.replace('ftevent-', ''));
    await waitFor(
      async () => {
        const page = await client.fineTuning.jobs.listEvents(job.id, { limit: 100 });
        const lastSeen = events.length ? seq(events[events.length - 1]) : 0;
        events.push(...(page.data as FlanEvent[]).filter((e) => seq(e) > lastSeen).reverse());
        return events;
      },
      (seen) => seen.some((e) => ['published', 'publish_failed', 'failed'].includes(e.event)),
    );
    const kinds = events.map((e) => e.event);
    expect(kinds).toContain('succeeded');
    expect(kinds).toContain('published');
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const metrics = events.filter((e) => e.type === 'metrics');
    expect(metrics.map((e) => e.data.step)).toEqual([1, 2, 3, 4]);
    for (const e of metrics) {
      expectMatchesSchema('FineTuningEvent', e);
      for (const key of ['loss', 'learning_rate', 'tokens_per_second', 'eta_seconds']) expect(typeof e.data[key]).toBe('number');
      expect(e.data.learning_rate).toBeCloseTo(1e-2);
    }

    const done = await retrieve(job.id);
    expect(done.status).toBe('succeeded');
    const version = done.fine_tuned_model!;
    expect(version).toMatch(/^ft:.*:swap:ftjob-/);
    expect(done.flan.trained_steps).toBe(4);
    expect(done.trained_tokens).toBeGreaterThan(0);
    expect(done.finished_at).not.toBeNull();

    // Keep streaming until the new weights have answered a few times.
    await waitFor(async () => servedBy.get(version) ?? 0, (n) => n >= 3, 5);
    stop = true;
    await Promise.all(streams);
    expect(failures).toBe(0);
    expect(servedBy.get(BASE_VERSION)).toBeGreaterThan(0);

    const versions = await json(await get(`${server.url}/admin/models`, ADMIN));
    expectMatchesSchema('ModelVersionList', versions);
    expect(versions.active).toBe(version);
    expect(versions.data.map((v: { id: string }) => v.id)).toEqual([version, BASE_VERSION]);

    const checkpoints = await client.fineTuning.jobs.checkpoints.list(job.id);
    expect(checkpoints.data).toHaveLength(1);
    expectMatchesSchema('FineTuningCheckpoint', checkpoints.data[0]);
    expect(checkpoints.data[0]).toMatchObject({ fine_tuned_model_checkpoint: version, fine_tuning_job_id: job.id, step_number: 4, published: true });

    const curve = await get(`${server.url}${done.flan.loss_curve}`, ADMIN);
    expect(curve.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const svg = await curve.text();
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    expect(svg).toMatch(/<polyline|<path/);
  }, 150_000);

  it('serves the finetuned version by its own name beside the base, and rolls the alias back and forward', async () => {
    const [job] = (await client.fineTuning.jobs.list()).data;
    const version = job.fine_tuned_model!;
    const servedBy = async (model: string) => {
      const res = await post(`${server.url}/v1/completions`, { model, prompt: 'color of grass', max_tokens: 2 }, USER);
      const body = await json(res);
      return res.status === 200 ? [body.model, body.system_fingerprint] : res.status;
    };
    expect(await servedBy(version)).toEqual([version, version]);
    // The base name is an alias: after the hot swap it serves the finetuned version.
    expect(await servedBy(BASE_MODEL)).toEqual([BASE_MODEL, version]);
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([BASE_MODEL, version]);
    expect((await client.models.retrieve(version)).owned_by).toBe('user');

    expect(await json(await post(`${server.url}/admin/models/rollback`, {}, ADMIN))).toMatchObject({ id: BASE_VERSION, active: true });
    // Only the alias moved: the finetuned version still answers by its name.
    expect(await servedBy(BASE_MODEL)).toEqual([BASE_MODEL, BASE_VERSION]);
    expect(await servedBy(version)).toEqual([version, version]);
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([BASE_MODEL, version]);

    const activated = await json(await post(`${server.url}/admin/models/${encodeURIComponent(version)}/activate`, {}, ADMIN));
    expect(activated).toMatchObject({ id: version, model: BASE_MODEL, active: true });
    expect(await servedBy(BASE_MODEL)).toEqual([BASE_MODEL, version]);
  });

  it('cancels a running job', async () => {
    const job = await createJob({ model: BASE_MODEL, training_file: fileId, flan: { ...tiny, steps: 100_000 } });
    expect(job.flan.hot_swap).toBe(false);
    await waitFor(() => retrieve(job.id), (j) => j.status === 'running');
    const cancelling = await client.fineTuning.jobs.cancel(job.id);
    expect(['running', 'cancelled']).toContain(cancelling.status);
    const cancelled = await waitFor(() => retrieve(job.id), terminal);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.fine_tuned_model).toBeNull();
    const again = await post(`${server.url}/v1/fine_tuning/jobs/${job.id}/cancel`, {}, ADMIN);
    expect(again.status).toBe(409);
    expect((await json(again)).error.code).toBe('job_not_cancellable');
  });

  it('takes more examples into a running continual job, checked line by line', async () => {
    const job = await createJob({ model: BASE_MODEL, training_file: fileId, flan: { ...tiny, steps: 100_000, continual: { publish_every: 4 } } });
    expect(job.flan).toMatchObject({ continual: 4 });
    const add = (examples: unknown[]) => post(`${server.url}/v1/fine_tuning/jobs/${job.id}/examples`, { examples }, ADMIN);
    const bad = await add([{ inputs: 'color of snow', targets: 'white' }, { inputs: 'no target' }]);
    expect(bad.status).toBe(400);
    const error = (await json(bad)).error;
    expect(error).toMatchObject({ param: 'examples', code: 'invalid_examples' });
    expect(error.message).toMatch(/line 2:/);
    const ok = await add([{ inputs: 'color of snow', targets: 'white' }, { prompt: 'opposite of left', completion: 'right' }]);
    expect(await json(ok)).toEqual({ object: 'fine_tuning.job.examples', added: 2 });

    const events = await waitFor(
      async () => (await client.fineTuning.jobs.listEvents(job.id, { limit: 100 })).data as FlanEvent[],
      (es) => es.some((e) => e.event === 'examples_added') && es.some((e) => e.event === 'version'),
    );
    expect(events.find((e) => e.event === 'examples_received')?.data).toMatchObject({ count: 2 });
    expect(events.find((e) => e.event === 'examples_added')?.data).toMatchObject({ added: 2 });
    await client.fineTuning.jobs.cancel(job.id);
    expect((await waitFor(() => retrieve(job.id), terminal)).status).toBe('cancelled');
    const checkpoints = (await client.fineTuning.jobs.checkpoints.list(job.id)).data;
    expect(checkpoints.length).toBeGreaterThan(0);
    for (const c of checkpoints) expect(c.step_number % 4).toBe(0);

    // A job that is not continual, or no longer running, takes none.
    const [finished] = (await client.fineTuning.jobs.list({ limit: 100 })).data.filter((j) => j.status === 'succeeded');
    expect((await post(`${server.url}/v1/fine_tuning/jobs/${finished.id}/examples`, { examples: [examples[0]] }, ADMIN)).status).toBe(400);
    expect((await add([examples[0]])).status).toBe(409);
  });

  it('pages jobs newest first with after and limit', async () => {
    const first = await client.fineTuning.jobs.list({ limit: 1 });
    expect(first.data).toHaveLength(1);
    expect(first.has_more).toBe(true);
    const second = await client.fineTuning.jobs.list({ limit: 2, after: first.data[0].id });
    expect(second.data).toHaveLength(2);
    expect(second.has_more).toBe(false);
    expect(second.data[0].created_at).toBeLessThanOrEqual(first.data[0].created_at);
    const all: string[] = [];
    for await (const job of client.fineTuning.jobs.list({ limit: 1 })) all.push(job.id);
    expect(all).toEqual([first.data[0].id, ...second.data.map((j) => j.id)]);
    const page = await json(await get(`${server.url}/v1/fine_tuning/jobs?limit=0`, ADMIN));
    expect(page.error.param).toBe('limit');
  });

  it('exports the jobs by status on /metrics, every status present', async () => {
    const jobs = (await client.fineTuning.jobs.list({ limit: 100 })).data;
    const text = await (await get(`${server.url}/metrics`)).text();
    for (const status of ['queued', 'running', 'succeeded', 'failed', 'cancelled']) {
      const count = jobs.filter((j) => j.status === status).length;
      expect(text).toMatch(new RegExp(`^flan_fine_tuning_jobs\\{status="${status}"\\} ${count}$`, 'm'));
    }
    expect(jobs.filter((j) => j.status === 'succeeded').length).toBeGreaterThan(0);
  });

  it('answers bad job requests in OpenAI error shape before anything is queued', async () => {
    const before = (await client.fineTuning.jobs.list()).data.length;
    const cases: [Record<string, unknown>, number, string | null][] = [
      [{ model: 'no-such-model', training_file: fileId }, 404, 'model'],
      [{ model: BASE_MODEL, training_file: 'file-000000000000000000000000' }, 404, 'training_file'],
      [{ model: BASE_MODEL, training_file: fileId, validation_file: fileId }, 400, 'validation_file'],
      [{ model: BASE_MODEL, training_file: fileId, hyperparameters: { n_epochs: 0 } }, 400, 'hyperparameters.n_epochs'],
      [{ model: BASE_MODEL, training_file: fileId, flan: { method: 'qlora' } }, 400, 'flan.method'],
      [{ model: BASE_MODEL, training_file: fileId, flan: { warmup: 10 } }, 400, 'flan.warmup'],
    ];
    for (const [body, status, param] of cases) {
      const res = await post(`${server.url}/v1/fine_tuning/jobs`, body, ADMIN);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect((await json(res)).error.param, JSON.stringify(body)).toBe(param);
    }
    expect((await client.fineTuning.jobs.list()).data).toHaveLength(before);
    expect((await get(`${server.url}/v1/fine_tuning/jobs/ftjob-nope`, ADMIN)).status).toBe(404);
  });

  it('comes back after a restart on the version that was active, with its history, jobs and files', async () => {
    const before = await json(await get(`${server.url}/admin/models`, ADMIN));
    expect(before.active).toMatch(/^ft:.*:swap:/);
    const jobs = (await client.fineTuning.jobs.list()).data.map((j) => [j.id, j.status]);
    await server.close();
    server = await startLabServer(dataDir, modelDir);
    client = server.client;

    const after = await json(await get(`${server.url}/admin/models`, ADMIN));
    expect(after.active).toBe(before.active);
    expect(after.data).toEqual(before.data);
    const res = await json(await post(`${server.url}/v1/completions`, { model: BASE_MODEL, prompt: 'color of grass', max_tokens: 2 }, USER));
    expect(res.system_fingerprint).toBe(before.active);
    expect((await client.fineTuning.jobs.list()).data.map((j) => [j.id, j.status])).toEqual(jobs);
    expect((await client.files.list()).data.map((f) => f.id)).toEqual([fileId]);
    expect(await json(await post(`${server.url}/admin/models/rollback`, {}, ADMIN))).toMatchObject({ id: BASE_VERSION });
  });
});

describe('fine-tuning routes of a server without a data directory', () => {
  it('are registered and answer 503 lab_unavailable after the admin check', async () => {
    const app = await buildApp({ serving: notServing(), config: { apiKeys: [USER], adminKey: ADMIN } });
    try {
      const auth = (key: string) => ({ authorization: `Bearer ${key}` });
      expect((await app.inject({ method: 'GET', url: '/v1/fine_tuning/jobs', headers: auth(USER) })).statusCode).toBe(403);
      for (const [method, url] of [['GET', '/v1/files'], ['POST', '/v1/fine_tuning/jobs'], ['GET', '/admin/evals/evalrun-x']] as const) {
        const res = await app.inject({ method, url, headers: auth(ADMIN) });
        expect(res.statusCode, url).toBe(503);
        expect(res.json().error.code, url).toBe('lab_unavailable');
      }
    } finally {
      await app.close();
    }
  });
});
