import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';
import { json, post } from './helpers/test-server.ts';

const cli = fileURLToPath(new URL('../../bin/flan-serve.js', import.meta.url));

describe('flan-serve serve', () => {
  it('exits with a message naming FLAN_MODEL when no model is given', async () => {
    const saved = process.env.FLAN_MODEL;
    delete process.env.FLAN_MODEL;
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['serve'])).toBe(1);
      expect(String(stderr.mock.calls[0][0])).toMatch(/set FLAN_MODEL=<dir> or pass --model <dir>/);
    } finally {
      stderr.mockRestore();
      if (saved !== undefined) process.env.FLAN_MODEL = saved;
    }
  });

  it.skipIf(!hasShared)('serves FLAN_MODEL as the README shows, and stops cleanly on SIGTERM', async () => {
    const dir = makeTinyModelDir();
    const env = { ...process.env, FLAN_MODEL: dir, PORT: '0', FLAN_THREADS: '1', FLAN_API_KEYS: '', HOST: '0.0.0.0' };
    const child = spawn(process.execPath, [cli, 'serve', '--model-id', 'tiny'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // fastify's pino lines: the address comes first, then "model ready" once the engine is loaded.
      let url = '';
      const lines: { msg: string }[] = [];
      for await (const line of createInterface({ input: child.stdout })) {
        const entry = JSON.parse(line);
        lines.push(entry);
        url ||= /Server listening at (http:\/\/[^\s,]+)/.exec(entry.msg)?.[1] ?? '';
        if (entry.msg === 'model ready') break;
      }
      // Leaving the loop closed the reader; keep draining so request logs cannot fill the pipe.
      child.stdout.resume();
      // Keyless: HOST=0.0.0.0 is overridden to loopback, and the log says so.
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(lines.some((l) => /HOST=0\.0\.0\.0 ignored/.test(l.msg))).toBe(true);
      const res = await post(`${url}/v1/completions`, { model: 'tiny', prompt: 'Translate to German: Hello', max_tokens: 4 });
      expect(res.status).toBe(200);
      expect((await json(res)).usage.completion_tokens).toBeGreaterThan(0);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
