import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';
import { json, post } from './helpers/test-server.ts';

/** The server keeps its registry and uploads here; a test must not write into the checkout's ./data. */
const scratchDataDir = () => mkdtempSync(join(tmpdir(), 'flan-serve-data-'));

const cli = fileURLToPath(new URL('../../bin/flan-serve.js', import.meta.url));

describe('flan-serve serve', () => {
  it('serves the embedded models/flan-mini when neither FLAN_MODEL nor --model is given', async () => {
    const { FLAN_MODEL: _unset, ...rest } = process.env;
    const env = { ...rest, PORT: '0', FLAN_THREADS: '1', FLAN_API_KEYS: '', FLAN_DATA_DIR: scratchDataDir() };
    const child = spawn(process.execPath, [cli, 'serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      let ready: { msg: string; model?: string } | undefined;
      for await (const line of createInterface({ input: child.stdout })) {
        const entry = JSON.parse(line);
        if (entry.msg === 'model ready') {
          ready = entry;
          break;
        }
      }
      child.stdout.resume();
      expect(ready?.model).toBe('flan-mini');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it.skipIf(!hasShared)('serves FLAN_MODEL as the README shows, and stops cleanly on SIGTERM', async () => {
    const dir = makeTinyModelDir();
    const env = { ...process.env, FLAN_MODEL: dir, PORT: '0', FLAN_THREADS: '1', FLAN_API_KEYS: '', HOST: '0.0.0.0', FLAN_DATA_DIR: scratchDataDir() };
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
