import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, BASE_MODEL, startLabServer, USER, waitFor, type LabServer } from '../server/helpers/lab-server.ts';
import { expectMatchesSchema } from '../server/helpers/spec-check.ts';
import { get, json, post } from '../server/helpers/test-server.ts';
import { FIXTURES, HAVE_SHARED_BENCHMARKS, SHARED_BENCHMARKS, SHARED_SKIP_MESSAGE } from './helpers/shared-benchmarks.ts';

if (!HAVE_SHARED_BENCHMARKS) console.warn(SHARED_SKIP_MESSAGE);

const CLI = resolve(FIXTURES, '../../../bin/flan-serve.js');
const EMBEDDED_MODEL = resolve(FIXTURES, '../../../models/flan-mini');
const PARTS = ['mmlu/direct', 'mmlu/cot', 'bbh/direct', 'bbh/cot', 'tydiqa/direct', 'mgsm/cot'];

/** bbh/ (two tasks of the shared copy), mmlu/ (with CoT exemplars), tydiqa/ and mgsm/ from the fixtures. */
function writeSixPartData(root: string): string {
  const dir = join(root, 'benchmarks');
  for (const sub of ['tasks', 'cot-prompts']) mkdirSync(join(dir, 'bbh', sub), { recursive: true });
  for (const task of ['navigate', 'word_sorting']) {
    cpSync(join(SHARED_BENCHMARKS, 'bbh', 'tasks', `${task}.json`), join(dir, 'bbh', 'tasks', `${task}.json`));
    cpSync(join(SHARED_BENCHMARKS, 'bbh', 'cot-prompts', `${task}.txt`), join(dir, 'bbh', 'cot-prompts', `${task}.txt`));
  }
  for (const suite of ['mmlu', 'tydiqa', 'mgsm']) cpSync(join(FIXTURES, suite), join(dir, suite), { recursive: true });
  const cot = (subject: string) =>
    `The following are multiple choice questions (with answers) about ${subject}.\n\nQ: Which is red?\n(A) Mars (B) Venus (C) Earth (D) Moon\nA: Let's think step by step. Mars looks red. The answer is (A).\n`;
  writeFileSync(join(dir, 'mmlu', 'mmlu-cot.json'), JSON.stringify({ astronomy: cot('astronomy'), high_school_biology: cot('high school biology') }));
  return dir;
}

/**
 * A tiny run of the paper's six parts against the embedded model (flan-mini knows none of these
 * benchmarks, so its scores are near zero or below chance; this checks the parts, the normalised
 * average and the report, not the model).
 */
describe.skipIf(!HAVE_SHARED_BENCHMARKS)('suite flan: the six parts and their normalised average (Table 5)', () => {
  const root = mkdtempSync(join(tmpdir(), 'flan-table5-'));
  const data = HAVE_SHARED_BENCHMARKS ? writeSixPartData(root) : '';
  let server: LabServer;

  beforeAll(async () => {
    server = await startLabServer(join(root, 'server-data'), EMBEDDED_MODEL);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('runs through /admin/evals and serves a Table-5 report', async () => {
    const res = await post(`${server.url}/admin/evals`, { suite: 'flan', data_dir: data, limit: 1, concurrency: 2 }, ADMIN);
    expect(res.status).toBe(200);
    const queued = await json(res);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const run: any = await waitFor(
      async () => json(await get(`${server.url}/admin/evals/${queued.id}`, ADMIN)),
      (r: { status: string }) => r.status !== 'queued' && r.status !== 'running',
    );
    expectMatchesSchema('EvalRun', run);
    expect(run.error).toBeNull();
    expect(Object.keys(run.results)).toEqual(PARTS);
    const normalized = PARTS.map((p) => run.results[p].normalized as number);
    console.log(`flan-mini, one question a task: ${PARTS.map((p) => `${p} ${run.results[p].accuracy.toFixed(1)} -> ${run.results[p].normalized.toFixed(1)}`).join(', ')}; normalized average ${run.summary.normalized_average.toFixed(2)}`);
    expect(run.summary.normalized_average).toBeCloseTo(normalized.reduce((a, b) => a + b, 0) / 6, 10);
    // Each part normalises its own score: MGSM and TyDiQA have a zero baseline, so normalised = score.
    expect(run.results['mgsm/cot'].normalized).toBeCloseTo(run.results['mgsm/cot'].accuracy, 10);
    // One question per task: MMLU's two subjects, BBH's two tasks, TyDiQA's paper languages (English is
    // not one), MGSM's paper languages (the fixture has zh of them; en is not one).
    expect(run.results['mmlu/direct'].count).toBe(2);
    expect(run.results['bbh/cot'].count).toBe(2);
    expect(run.results['tydiqa/direct'].count).toBe(1);
    expect(run.results['mgsm/cot'].count).toBe(1);

    const page = await get(`${server.url}${run.report}`, ADMIN);
    expect(page.status).toBe(200);
    const html = await page.text();
    for (const title of ['MMLU Direct', 'MMLU CoT', 'BBH Direct', 'BBH CoT', 'TyDiQA Direct', 'MGSM CoT', 'Norm. avg.']) expect(html).toContain(title);
    expect(html).toContain(`<td>${run.summary.normalized_average.toFixed(1)}</td>`);
    expect(html).toMatch(/Covers 1 tasks \(swahili\), averaged over tasks; Flan §2.3: TyDiQA-GoldP across 8 typologically diverse languages/);
    expect(html).toMatch(/Covers 2 tasks \(astronomy, high_school_biology\), averaged over questions/);
  });

  it('runs from the command line, printing the set it covers and one JSON line of the six parts', async () => {
    const out = join(root, 'cli-report');
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [CLI, 'eval', '--server', server.url, '--api-key', USER, '--model', BASE_MODEL, '--suite', 'flan', '--data', data, '--limit', '1', '--json', '--no-progress', '--out', out],
      { env: { ...process.env, OPENAI_API_KEY: '' } },
    );
    const parts = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, Record<string, number>>;
    expect(Object.keys(parts)).toEqual(PARTS);
    expect(stderr).toContain("covers the paper's six parts");
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('Norm. avg.');
  });
});
