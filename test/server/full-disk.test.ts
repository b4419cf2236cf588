import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { toFile } from 'openai';
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as atomicWrite from '../../runtime/checkpoint/atomic-write.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { ADMIN, startLabServer } from './helpers/lab-server.ts';
import { get, json, post } from './helpers/test-server.ts';

vi.mock('../../runtime/checkpoint/atomic-write.ts', { spy: true });

const cli = fileURLToPath(new URL('../../bin/flan-serve.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'flan-full-disk-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

describe.skipIf(!hasShared)('a full data disk', () => {
  it('does not stop the server: inference serves, the routes that need the disk answer 507', async () => {
    // /dev/full refuses every write with ENOSPC: the registry database cannot be created, as on a full disk.
    const dataDir = join(root, 'full');
    mkdirSync(dataDir);
    symlinkSync('/dev/full', join(dataDir, 'server.sqlite'));
    const env = { ...process.env, FLAN_MODEL: makeTinyModelDir(), PORT: '0', FLAN_THREADS: '1', FLAN_API_KEYS: '', FLAN_DATA_DIR: dataDir };
    const child = spawn(process.execPath, [cli, 'serve', '--model-id', 'tiny'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      let url = '';
      let ready = false;
      for await (const line of createInterface({ input: child.stdout })) {
        const entry = JSON.parse(line);
        url ||= /Server listening at (http:\/\/[^\s,]+)/.exec(entry.msg)?.[1] ?? '';
        if (entry.msg === 'model ready') {
          ready = true;
          break;
        }
      }
      child.stdout.resume();
      expect(ready).toBe(true);
      const res = await post(`${url}/v1/completions`, { model: 'tiny', prompt: 'Hello', max_tokens: 2 });
      expect(res.status).toBe(200);
      const files = await get(`${url}/v1/files`);
      expect(files.status).toBe(507);
      const body = await json(files);
      expectMatchesSchema('Error', body);
      expect(body.error.code).toBe('insufficient_storage');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('answers an upload that fills the disk with 507, and sweeps temporary files left by failed ones', async () => {
    const dataDir = join(root, 'upload');
    mkdirSync(join(dataDir, 'files'), { recursive: true });
    writeFileSync(join(dataDir, 'files', '.file-0123456789abcdef01234567.jsonl.4242.abcdef.tmp'), 'half an upl');
    const server = await startLabServer(dataDir, makeTinyModelDir({ seed: 2 }));
    try {
      vi.mocked(atomicWrite.writeBytesAtomicSync).mockImplementationOnce(() => {
        throw enospc();
      });
      const err = await server.client.files
        .create({ file: await toFile(Buffer.from('{"inputs": "a", "targets": "b"}'), 'a.jsonl'), purpose: 'fine-tune' })
        .catch((e: { status?: number; code?: string }) => e);
      expect(err).toMatchObject({ status: 507, code: 'insufficient_storage' });
      expect(readdirSync(join(dataDir, 'files'))).toEqual([]);
      expect((await get(`${server.url}/v1/files`, ADMIN)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
