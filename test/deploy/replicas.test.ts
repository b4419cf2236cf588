import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModelDir } from '../finetune/tiny-model-dir.ts';

const cli = fileURLToPath(new URL('../../bin/flan-serve.js', import.meta.url));

interface Replica {
  child: ChildProcess;
  url: string;
  client: OpenAI;
  exited: Promise<number | null>;
}

/** `flan-serve serve` as a replica would run it: its own data directory, the shared version store. */
async function startReplica(env: NodeJS.ProcessEnv): Promise<Replica> {
  const child = spawn(process.execPath, [cli, 'serve'], { env: { ...process.env, PORT: '0', FLAN_THREADS: '1', FLAN_API_KEYS: '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let url = '';
  for await (const line of createInterface({ input: child.stdout! })) {
    const entry = JSON.parse(line) as { msg: string };
    url ||= /Server listening at (http:\/\/[^\s,]+)/.exec(entry.msg)?.[1] ?? '';
    if (entry.msg === 'model ready') break;
  }
  child.stdout!.resume();
  return { child, url, exited, client: new OpenAI({ apiKey: 'keyless', baseURL: `${url}/v1`, maxRetries: 0 }) };
}

/**
 * Two serving processes over one version store (FLAN_STORE_DIR), each with its own data directory, as
 * replicas behind a Service are: a version finetuned and published through one is served by name by
 * the other, and an activation on either moves the alias for both, with steady traffic on both and no
 * failed request.
 */
describe('replicas sharing one version store', () => {
  const root = mkdtempSync(join(tmpdir(), 'flan-replicas-'));
  const modelDir = writeTinyModelDir(join(root, 'tiny'));
  const shared = { FLAN_MODEL: `tiny=${modelDir}`, FLAN_STORE_DIR: join(root, 'store') };
  let a: Replica;
  let b: Replica;
  beforeAll(async () => {
    a = await startReplica({ ...shared, FLAN_DATA_DIR: join(root, 'a') });
    b = await startReplica({ ...shared, FLAN_DATA_DIR: join(root, 'b') });
  }, 120_000);
  afterAll(async () => {
    for (const r of [a, b]) r?.child.kill('SIGTERM');
    expect(await Promise.all([a?.exited, b?.exited])).toEqual([0, 0]);
    rmSync(root, { recursive: true, force: true });
  });

  it('serves a version published through one replica on the other, and follows activations made anywhere', async () => {
    let stop = false;
    const failures: string[] = [];
    const servedBy = new Map<string, Set<string>>([[a.url, new Set()], [b.url, new Set()]]);
    const traffic = (r: Replica) =>
      (async () => {
        while (!stop) {
          try {
            const res = await r.client.completions.create({ model: 'tiny', prompt: 'color of the sky', max_tokens: 4 });
            servedBy.get(r.url)!.add(res.system_fingerprint!);
          } catch (err) {
            failures.push(`${r.url}: ${(err as Error).message}`);
          }
        }
      })();
    const loops = [traffic(a), traffic(b)];

    const file = await a.client.files.create({ file: await toFile(Buffer.from(JSON.stringify({ inputs: 'color of the sky', targets: 'blue' })), 't.jsonl'), purpose: 'fine-tune' });
    const job = await a.client.fineTuning.jobs.create({
      model: 'tiny',
      training_file: file.id,
      flan: { steps: 2, max_source_length: 16, max_target_length: 8, held_out_fraction: 0, hot_swap: true },
    } as OpenAI.FineTuning.JobCreateParams);
    let done = await a.client.fineTuning.jobs.retrieve(job.id);
    while (!['succeeded', 'failed', 'cancelled'].includes(done.status)) {
      await new Promise((r) => setTimeout(r, 100));
      done = await a.client.fineTuning.jobs.retrieve(job.id);
    }
    expect(done.status).toBe('succeeded');
    const ft = done.fine_tuned_model!;
    const published = performance.now();

    // The other replica serves it by name at once and lists it, though it never saw the job.
    const byName = await b.client.completions.create({ model: ft, prompt: 'color of the sky', max_tokens: 4 });
    expect(byName.system_fingerprint).toBe(ft);
    expect((await b.client.models.list()).data.map((m) => m.id)).toContain(ft);
    // The job published (hot_swap): the alias moved for both replicas.
    const fingerprint = async (r: Replica) => (await r.client.completions.create({ model: 'tiny', prompt: 'hi', max_tokens: 2 })).system_fingerprint;
    await expect.poll(() => fingerprint(b), { timeout: 10_000 }).toBe(ft);
    const followed = performance.now() - published;

    // A rollback on B moves A too.
    const rolledBack = await fetch(`${b.url}/admin/models/rollback`, { method: 'POST' });
    expect(rolledBack.status, await rolledBack.clone().text()).toBe(200);
    expect(await fingerprint(a)).toBe('tiny@base');
    // And an activation on A moves B.
    expect((await fetch(`${a.url}/admin/models/${encodeURIComponent(ft)}/activate`, { method: 'POST' })).status).toBe(200);
    expect(await fingerprint(b)).toBe(ft);

    stop = true;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    for (const seen of servedBy.values()) expect([...seen].sort()).toEqual([ft, 'tiny@base'].sort());
    console.log(JSON.stringify({ replicaFollowsPublishMs: Math.round(followed) }));
  }, 180_000);
});
