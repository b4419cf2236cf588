import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, HAVE_SHARED_BENCHMARKS, SHARED_BENCHMARKS } from '../eval/helpers/shared-benchmarks.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { ADMIN, BASE_MODEL, BASE_VERSION, startLabServer, USER, waitFor, type LabServer } from './helpers/lab-server.ts';
import { get, json, post } from './helpers/test-server.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Run = any;

describe.skipIf(!hasShared)('eval runs through /admin/evals', () => {
  const root = mkdtempSync(join(tmpdir(), 'flan-evals-'));
  const dataDir = join(root, 'data');
  const modelDir = makeTinyModelDir({ seed: 5 });
  let server: LabServer;

  beforeAll(async () => {
    server = await startLabServer(dataDir, modelDir);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const start = async (body: Record<string, unknown>): Promise<Run> => {
    const res = await post(`${server.url}/admin/evals`, body, ADMIN);
    expect(res.status, JSON.stringify(body)).toBe(200);
    return json(res);
  };
  const read = async (id: string): Promise<Run> => json(await get(`${server.url}/admin/evals/${id}`, ADMIN));
  const finished = (id: string) => waitFor(() => read(id), (run: Run) => ['succeeded', 'failed', 'cancelled'].includes(run.status));
  const completionRequests = async () => {
    const text = await (await get(`${server.url}/metrics`)).text();
    return [...text.matchAll(/^flan_http_requests_total\{[^}]*route="\/v1\/completions"[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  let synthetic: Run;

  it('runs the synthetic suite against the server itself and keeps results, progress and the measured version', async () => {
    const before = await completionRequests();
    const queued = await start({ suite: 'synthetic', tasks: ['addition', 'even_odd'], limit: 3, concurrency: 2 });
    expectMatchesSchema('EvalRun', queued);
    expect(queued).toMatchObject({ object: 'eval.run', suite: 'synthetic', mode: 'direct', model: BASE_MODEL, concurrency: 2, results: null, report: null });
    synthetic = await finished(queued.id);
    expectMatchesSchema('EvalRun', synthetic);
    expect(synthetic.error).toBeNull();
    expect(synthetic.status).toBe('succeeded');
    expect(synthetic.model_version).toBe(BASE_VERSION);
    expect(synthetic.progress).toMatchObject({ done: 6, total: 6 });
    expect(Object.keys(synthetic.results).sort()).toEqual(['addition', 'even_odd']);
    expect(synthetic.results.addition.count).toBe(3);
    expect(synthetic.results.even_odd.count).toBe(3);
    expect(synthetic.summary.count).toBe(6);
    // Every question went through this server's own /v1/completions.
    expect((await completionRequests()) - before).toBeGreaterThanOrEqual(6);
  });

  it('serves the run report as an HTML page with a bar chart', async () => {
    const res = await get(`${server.url}${synthetic.report}`, ADMIN);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg');
    expect(html).toContain('even_odd');
  });

  it('compares two finished runs of a suite, each labelled with the version it measured', async () => {
    const again = await finished((await start({ suite: 'synthetic', tasks: ['addition', 'even_odd'], limit: 3 })).id);
    expect(again.status).toBe('succeeded');
    const res = await get(`${server.url}/admin/evals/${synthetic.id}/compare/${again.id}`, ADMIN);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('before and after');
    expect(html).toContain(`${BASE_MODEL} [${BASE_VERSION}]`);
    expect(html).toContain('even_odd');
  });

  it.skipIf(!HAVE_SHARED_BENCHMARKS)('runs a BBH task from the shared benchmark data with a limit', async () => {
    const run = await finished((await start({ suite: 'bbh', data_dir: join(SHARED_BENCHMARKS, 'bbh'), tasks: ['navigate'], limit: 2 })).id);
    expect(run.status).toBe('succeeded');
    expect(run.results.navigate).toMatchObject({ count: 2, random_baseline: 50 });
    const mismatch = await get(`${server.url}/admin/evals/${synthetic.id}/compare/${run.id}`, ADMIN);
    expect(mismatch.status).toBe(400);
  });

  it('scores RealToxicityPrompts continuations with the scorer the run names', async () => {
    const run = await finished((await start({ suite: 'rtp', data_dir: join(FIXTURES, 'rtp'), scorer: { kind: 'lexicon' }, limit: 2, samples: 2 })).id);
    expect(run.error).toBeNull();
    expect(run).toMatchObject({ status: 'succeeded', scorer: 'lexicon' });
    expect(Object.keys(run.results).sort()).toEqual(['non-toxic', 'toxic']);
    for (const task of Object.values(run.results) as Record<string, number>[]) {
      expect(task.count).toBe(2);
      expect(task.expected_max_toxicity).toBeGreaterThanOrEqual(0);
      expect(task.expected_max_toxicity).toBeLessThanOrEqual(1);
    }
  });

  it('refuses runs it cannot do before queueing them', async () => {
    const before = (await json(await get(`${server.url}/admin/evals?limit=100`, ADMIN))).data.length;
    const cases: [Record<string, unknown>, number, string | null, string][] = [
      [{ suite: 'bbh', tasks: ['navigate'] }, 400, 'data_dir', 'missing_required_parameter'],
      [{ suite: 'mgsm', data_dir: join(root, 'missing') }, 400, 'data_dir', 'invalid_value'],
      [{ suite: 'synthetic', tasks: ['no_such_family'] }, 400, null, 'invalid_eval'],
      [{ suite: 'rtp', data_dir: join(FIXTURES, 'rtp') }, 400, 'scorer', 'missing_required_parameter'],
      [{ suite: 'rtp', data_dir: join(FIXTURES, 'rtp'), scorer: { kind: 'perspective' } }, 400, null, 'invalid_eval'],
      [{ suite: 'synthetic', scorer: { kind: 'lexicon' } }, 400, 'scorer', 'invalid_value'],
      [{ suite: 'synthetic', concurrency: 64 }, 400, 'concurrency', 'invalid_value'],
    ];
    for (const [body, status, param, code] of cases) {
      const res = await post(`${server.url}/admin/evals`, body, ADMIN);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect((await json(res)).error, JSON.stringify(body)).toMatchObject({ param, code });
    }
    expect((await post(`${server.url}/admin/evals`, { suite: 'synthetic' }, USER)).status).toBe(403);
    expect((await json(await get(`${server.url}/admin/evals?limit=100`, ADMIN))).data).toHaveLength(before);
    expect((await get(`${server.url}/admin/evals/evalrun-nope`, ADMIN)).status).toBe(404);
  });

  it('cancels a running eval; its report is refused', async () => {
    const run = await start({ suite: 'synthetic', concurrency: 1 });
    await waitFor(() => read(run.id), (r: Run) => r.status === 'running' && r.progress !== null);
    const cancel = await post(`${server.url}/admin/evals/${run.id}/cancel`, {}, ADMIN);
    expect(cancel.status).toBe(200);
    const cancelled = await finished(run.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.progress.done).toBeLessThan(cancelled.progress.total);
    expect(cancelled.results).toBeNull();
    expect((await get(`${server.url}/admin/evals/${run.id}/report`, ADMIN)).status).toBe(409);
    const again = await post(`${server.url}/admin/evals/${run.id}/cancel`, {}, ADMIN);
    expect(again.status).toBe(409);
    expect((await json(again)).error.code).toBe('eval_not_cancellable');
  });

  it('keeps stored results across a restart and marks a run the restart cut short as interrupted', async () => {
    const cut = await start({ suite: 'synthetic', concurrency: 1 });
    await waitFor(() => read(cut.id), (r: Run) => r.status === 'running');
    await server.close();
    server = await startLabServer(dataDir, modelDir);

    const after = await read(synthetic.id);
    expect(after).toEqual(synthetic);
    expect((await get(`${server.url}/admin/evals/${synthetic.id}/report`, ADMIN)).status).toBe(200);
    const interrupted = await read(cut.id);
    expect(interrupted.status).toBe('failed');
    expect(interrupted.error.code).toBe('interrupted');

    const page = await json(await get(`${server.url}/admin/evals?limit=2`, ADMIN));
    expectMatchesSchema('EvalRunList', page);
    expect(page.data[0].id).toBe(cut.id);
    expect(page.has_more).toBe(true);
    const rest = await json(await get(`${server.url}/admin/evals?limit=100&after=${page.data[1].id}`, ADMIN));
    expect(rest.data.map((r: Run) => r.id)).toContain(synthetic.id);
    expect(rest.has_more).toBe(false);
  });
});
