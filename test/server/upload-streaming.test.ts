import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_UPLOAD_BYTES } from '../../server/routes/files.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';
import { BASE_MODEL, startLabServer, type LabServer } from './helpers/lab-server.ts';

describe.skipIf(!hasShared)('uploads are streamed to disk and checked off the main thread', () => {
  const root = mkdtempSync(join(tmpdir(), 'flan-upload-'));
  const dataDir = join(root, 'data');
  let server: LabServer;

  beforeAll(async () => {
    server = await startLabServer(dataDir, makeTinyModelDir({ seed: 6 }));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const upload = async (content: string | Buffer, name = 'train.jsonl') =>
    server.client.files.create({ file: await toFile(Buffer.from(content), name), purpose: 'fine-tune' }).catch((e: unknown) => e);

  it('checks 300,000 lines without stalling the event loop, and names the bad ones', async () => {
    const lines = Array.from({ length: 300_000 }, (_, i) => (i % 1000 === 999 ? `not json ${i}` : JSON.stringify({ inputs: `question ${i}`, targets: 'answer' })));
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const err = (await upload(lines.join('\n'))) as InstanceType<typeof OpenAI.APIError>;
    delay.disable();
    expect(err.status).toBe(400);
    expect(err.code).toBe('invalid_file');
    expect(err.message).toMatch(/300 bad line\(s\)/);
    expect(err.message).toMatch(/line 1000: not valid JSON/);
    // Loose bound: parsing these lines on the main thread stalled it for seconds; the upload's own
    // transfer and the multipart parse are all that run there now.
    expect(delay.max / 1e6).toBeLessThan(1_000);
    expect(readdirSync(join(dataDir, 'files'))).toEqual([]);

    const ok = (await upload(lines.filter((l) => l.startsWith('{')).join('\n'))) as OpenAI.FileObject & { examples: number };
    expect(ok.examples).toBe(299_700);

    // Creating a job on it does not read the file again on the main thread (the training process does).
    delay.reset();
    delay.enable();
    const job = await server.client.fineTuning.jobs.create({ model: BASE_MODEL, training_file: ok.id, flan: { steps: 1_000 } } as OpenAI.FineTuning.JobCreateParams);
    delay.disable();
    expect(delay.max / 1e6).toBeLessThan(1_000);
    await server.client.fineTuning.jobs.cancel(job.id);
  });

  it('refuses a file over the upload limit with 413 and keeps nothing of it', async () => {
    const err = (await upload(Buffer.alloc(MAX_UPLOAD_BYTES + 1, 'a'))) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(413);
    expect(err.code).toBe('request_too_large');
    expect(readdirSync(join(dataDir, 'files')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
