import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpenAi, type FakeOpenAi } from './helpers/fake-openai-server.ts';
import { FIXTURES } from './helpers/shared-benchmarks.ts';

const run = promisify(execFile);
const CLI = resolve(FIXTURES, '../../../bin/flan-serve.js');

let server: FakeOpenAi | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'eval', ...args], { env: { ...process.env, OPENAI_API_KEY: '' } });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

describe('flan-serve eval', () => {
  it('--json: the last stdout line is one JSON object of per-task metrics; progress goes to stderr; --out writes the reports', async () => {
    server = await startFakeOpenAi(({ prompt }) => ({ texts: [prompt.includes('largest planet') || prompt.includes('photosynthesis') ? ' C' : ' A'] }));
    const out = mkdtempSync(join(tmpdir(), 'eval-out-'));
    try {
      const args = ['--server', server.url, '--model', 'flan-t5-small', '--suite', 'mmlu', '--data', join(FIXTURES, 'mmlu'), '--mode', 'direct', '--json', '--out', out, '--api-key', 'k'];
      const { stdout, stderr, code } = await cli(args);
      expect(code).toBe(0);
      const lines = stdout.trimEnd().split('\n');
      const metrics = JSON.parse(lines[lines.length - 1]) as Record<string, { accuracy: number; count: number }>;
      // astronomy: A, D, C answered A, A, C -> 2/3; biology: B, A answered C, A -> 1/2.
      expect(metrics.astronomy.accuracy).toBeCloseTo(200 / 3, 10);
      expect(metrics.high_school_biology).toMatchObject({ accuracy: 50, count: 2 });
      expect(stderr).toMatch(/mmlu\/direct \[#+\] 5\/5/);
      const saved = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { model: string; tasks: Record<string, unknown> };
      expect(saved.model).toBe('flan-t5-small');
      expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<svg');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('answers a usage error in one line: unknown synthetic task, unknown mode, missing data', async () => {
    const synthetic = await cli(['--server', 'http://127.0.0.1:9', '--model', 'm', '--suite', 'synthetic', '--tasks', 'nope', '--mode', 'direct']);
    expect(synthetic.code).toBe(1);
    expect(synthetic.stderr).toMatch(/^flan-serve: synthetic: no task "nope"/);
    const mode = await cli(['--server', 'http://127.0.0.1:9', '--model', 'm', '--suite', 'bbh', '--data', '.', '--mode', 'fast']);
    expect(mode.stderr).toContain('--mode must be one of direct, cot, cot-sc, zero-shot-cot');
    const data = await cli(['--server', 'http://127.0.0.1:9', '--model', 'm', '--suite', 'bbh', '--data', '/nonexistent']);
    expect(data.stderr).toMatch(/^flan-serve: BBH: \/nonexistent\/tasks is not a directory/);
  });

  it('a server that cannot be reached is one line too, not a stack trace', async () => {
    const down = await cli(['--server', 'http://127.0.0.1:9', '--model', 'm', '--suite', 'synthetic', '--tasks', 'held-in', '--mode', 'direct', '--limit', '1', '--no-progress']);
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split('\n')).toEqual(['flan-serve: cannot reach http://127.0.0.1:9: Connection error.']);
  });
});
