import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModelDir } from '../finetune/tiny-model-dir.ts';
import { BASE_MODEL, BASE_VERSION, startLabServer, waitFor, type LabServer } from './helpers/lab-server.ts';
import { nextMessage, openSocket } from './helpers/ws-client.ts';

const prompt = 'color of the sky';

/**
 * Two LoRA jobs through the official OpenAI client, with the engine in its worker thread as `flan-serve
 * serve` runs it: each publishes an adapter version (not a merged copy), both ft names answer at once,
 * and their requests decode in the base's batch beside base traffic, with the same answers as alone.
 */
describe('LoRA adapter versions served by name over their base', () => {
  const root = mkdtempSync(join(tmpdir(), 'flan-adapters-by-name-'));
  let server: LabServer;
  let client: OpenAI;
  beforeAll(async () => {
    server = await startLabServer(join(root, 'data'), writeTinyModelDir(join(root, 'base')), { worker: true });
    client = server.client;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const answer = async (model: string) => {
    const res = await client.completions.create({ model, prompt, max_tokens: 24, temperature: 0 });
    return { text: res.choices[0].text, servedBy: res.system_fingerprint };
  };

  // Seeded (the adapters' initial factors, the templates drawn): every run trains the same adapters.
  const loraJob = async (target: string, suffix: string, seed: number) => {
    const lines = Array.from({ length: 8 }, () => JSON.stringify({ inputs: prompt, targets: target })).join('\n');
    const file = await client.files.create({ file: await toFile(Buffer.from(lines), `${suffix}.jsonl`), purpose: 'fine-tune' });
    const job = await client.fineTuning.jobs.create({
      model: BASE_MODEL,
      training_file: file.id,
      suffix,
      seed,
      flan: { method: 'lora', lora: { rank: 8, alpha: 32, targets: ['q', 'v'] }, steps: 30, learning_rate: 5e-2, max_source_length: 16, max_target_length: 8, held_out_fraction: 0 },
    } as OpenAI.FineTuning.JobCreateParams);
    return job.id;
  };

  it('publishes two adapters whose names answer at once, in one batch with base traffic, with no failed request', async () => {
    const before = await answer(BASE_MODEL);
    const jobs = [await loraJob('blue', 'blue', 1), await loraJob('green', 'green', 2)];
    const done = await Promise.all(jobs.map((id) => waitFor(() => client.fineTuning.jobs.retrieve(id), (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status), 100)));
    expect(done.map((j) => j.status)).toEqual(['succeeded', 'succeeded']);
    const [blue, green] = done.map((j) => j.fine_tuned_model!);

    const alone = { [BASE_MODEL]: await answer(BASE_MODEL), [blue]: await answer(blue), [green]: await answer(green) };
    expect(alone[BASE_MODEL]).toEqual(before);
    // Rank-8 q/v adapters on a random tiny model do not fit the answer in a few dozen steps (the loss
    // stays near 3), but they move it: three different answers show each name ran with its own weights.
    expect(alone[blue].servedBy).toBe(blue);
    expect(alone[green].servedBy).toBe(green);
    expect(new Set(Object.values(alone).map((a) => a.text)).size).toBe(3);

    // 4 requests per name at once: one scheduler per base, so a batch wider than any one name's share
    // means the adapters' rows and the base's decoded together.
    const names = [BASE_MODEL, blue, green].flatMap((n) => [n, n, n, n]);
    let widest = 0;
    const sampler = setInterval(() => (widest = Math.max(widest, server.serving.engine.stats().batchSize)), 1);
    const results = await Promise.allSettled(names.map((n) => answer(n)));
    clearInterval(sampler);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(results.map((r) => (r as PromiseFulfilledResult<unknown>).value)).toEqual(names.map((n) => alone[n]));
    expect(widest).toBeGreaterThan(4);
    // One base loaded, and the two adapters over it: no merged copies.
    expect(server.serving.engine.stats().loadedModels).toBe(3);

    const listed = (await client.models.list()).data;
    expect(listed.map((m) => m.id)).toEqual([BASE_MODEL, green, blue]);
    expect(listed.find((m) => m.id === blue)).toMatchObject({ owned_by: 'user', parent: BASE_VERSION });
    expect(await client.models.retrieve(green)).toMatchObject({ id: green, parent: BASE_VERSION });
  }, 240_000);

  it('takes an adapter name in chat and the websocket; delete removes the adapter only', async () => {
    const [green, blue] = (await client.models.list()).data.slice(1).map((m) => m.id);
    const greenText = (await answer(green)).text;
    const chat = await client.chat.completions.create({ model: green, messages: [{ role: 'user', content: prompt }], max_tokens: 6, temperature: 0 });
    expect(chat.system_fingerprint).toBe(green);

    const socket = await openSocket(server.url.replace('http', 'ws') + '/v1/chat/ws', 'sk-user');
    socket.send(JSON.stringify({ type: 'start', model: blue, content: prompt, max_tokens: 6, temperature: 0 }));
    let message = await nextMessage(socket);
    while (message.type !== 'done' && message.type !== 'error') message = await nextMessage(socket);
    expect(message).toMatchObject({ type: 'done' });
    socket.close();

    expect(await client.models.delete(blue)).toEqual({ id: blue, object: 'model', deleted: true });
    await expect(answer(blue)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect(await answer(green)).toEqual({ text: greenText, servedBy: green });
    expect((await answer(BASE_MODEL)).servedBy).toBe(BASE_VERSION);
  }, 60_000);
});
