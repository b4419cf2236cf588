import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { json } from './helpers/test-server.ts';

const cli = fileURLToPath(new URL('../../bin/flan-serve.js', import.meta.url));

describe('flan-serve serve while its model loads', () => {
  it('answers /readyz 503 model_not_ready until the model is ready, then 200', async () => {
    const { FLAN_MODEL: _unset, ...rest } = process.env;
    const env = { ...rest, PORT: '0', FLAN_THREADS: '1', FLAN_API_KEYS: '', FLAN_DATA_DIR: mkdtempSync(join(tmpdir(), 'flan-ready-')) };
    // The embedded flan-mini: large enough that loading it takes a good part of a second or more.
    const child = spawn(process.execPath, [cli, 'serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      let url = '';
      const lines = createInterface({ input: child.stdout });
      for await (const line of lines) {
        url = /Server listening at (http:\/\/[^\s,]+)/.exec(JSON.parse(line).msg)?.[1] ?? '';
        if (url) break;
      }
      child.stdout.resume();
      const codes: string[] = [];
      for (;;) {
        const res = await fetch(`${url}/readyz`);
        const body = await json(res);
        codes.push(res.status === 200 ? '200' : `${res.status} ${body.error.code}`);
        if (res.status === 200) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(codes[0]).toBe('503 model_not_ready');
      expect(codes.at(-1)).toBe('200');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
