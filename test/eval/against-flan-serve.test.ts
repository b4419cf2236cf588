import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEval } from '../../eval/run/run-eval.ts';
import { startTestServer, tinyEngine, TINY_MODEL, type TestServer } from '../server/helpers/test-server.ts';
import { FIXTURES, HAVE_SHARED_BENCHMARKS, SHARED_BENCHMARKS, SHARED_SKIP_MESSAGE } from './helpers/shared-benchmarks.ts';

if (!HAVE_SHARED_BENCHMARKS) console.warn(SHARED_SKIP_MESSAGE);

/**
 * The harness against our own server on the tiny random reference model: the model's answers are
 * noise, so this checks that the two speak the same API (completions, stop, n, top_logprobs), not
 * the scores.
 */
describe.skipIf(!HAVE_SHARED_BENCHMARKS)('eval against flan-serve (tiny reference model)', () => {
  let server: TestServer;
  const KEY = 'sk-eval';

  beforeAll(async () => {
    server = await startTestServer(await tinyEngine(), { apiKeys: [KEY] });
  });
  afterAll(() => server?.close());

  it('runs BBH direct and self-consistency through /v1/completions', async () => {
    const base = { server: server.url, model: TINY_MODEL, apiKey: KEY, suite: 'bbh' as const, dataDir: join(SHARED_BENCHMARKS, 'bbh'), tasks: ['navigate'], limit: 2 };
    const direct = await runEval({ ...base, mode: 'direct' });
    expect(direct.tasks.navigate.metrics.count).toBe(2);
    expect(direct.tasks.navigate.metrics.random_baseline).toBe(50);
    const sc = await runEval({ ...base, mode: 'cot-sc', samples: 2, limit: 1 });
    expect(sc.tasks.navigate.examples[0].outputs).toHaveLength(2);
  });

  it('gets top_logprobs from the server for CivilComments (else the run would fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-serve-'));
    try {
      copyFileSync(join(FIXTURES, 'civilcomments', 'test.csv'), join(dir, 'test.csv'));
      writeFileSync(join(dir, 'train.csv'), 'id,comment_text,toxicity\n1,"Thanks, helpful.",0.0\n2,"You moron.",0.9\n');
      const result = await runEval({ server: server.url, model: TINY_MODEL, apiKey: KEY, suite: 'civilcomments', dataDir: dir, tasks: ['few-shot'], mode: 'direct' });
      const task = result.tasks['few-shot'];
      expect(task.metrics.count).toBe(7);
      // A random model rarely puts "yes" or "no" in its top 5; the score is then 0.5. Either way, a probability.
      for (const e of task.examples) expect(e.score! >= 0 && e.score! <= 1).toBe(true);
      expect(task.metrics.auc).toBeGreaterThanOrEqual(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scores MMLU direct and CivilComments by rank through /v1/flan/score', async () => {
    const base = { server: server.url, model: TINY_MODEL, apiKey: KEY, mode: 'direct' as const, scoring: 'rank' as const };
    const mmlu = await runEval({ ...base, suite: 'mmlu', dataDir: join(FIXTURES, 'mmlu'), tasks: ['astronomy'], limit: 2 });
    for (const e of mmlu.tasks.astronomy.examples) {
      expect(e.scores).toHaveLength(4);
      expect(e.prediction).toBe('ABCD'[e.scores!.indexOf(Math.max(...e.scores!))]);
    }
    const dir = mkdtempSync(join(tmpdir(), 'cc-rank-'));
    try {
      copyFileSync(join(FIXTURES, 'civilcomments', 'test.csv'), join(dir, 'test.csv'));
      writeFileSync(join(dir, 'train.csv'), 'id,comment_text,toxicity\n1,"Thanks, helpful.",0.0\n2,"You moron.",0.9\n');
      const cc = await runEval({ ...base, suite: 'civilcomments', dataDir: dir, tasks: ['zero-shot'] });
      for (const e of cc.tasks['zero-shot'].examples) {
        const [yes, no] = e.scores!;
        expect(e.score).toBeCloseTo(Math.exp(yes) / (Math.exp(yes) + Math.exp(no)), 10);
      }
      expect(cc.tasks['zero-shot'].metrics.auc).toBeGreaterThanOrEqual(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
