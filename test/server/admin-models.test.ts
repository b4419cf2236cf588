import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationRequest } from '../../runtime/engine/engine-api.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { sampleEvents, ScriptedEngine } from './helpers/scripted-engine.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { get, json, post, startTestServer, t5Tokenizer, type TestServer } from './helpers/test-server.ts';

const KEY = 'sk-user';
const ADMIN = 'sk-admin';
const FT_A = 'ft:flan-a:x:ftjob-1';
const FT_B = 'ft:flan-a:y:ftjob-2';

/** An engine that answers with the version id it was asked to run, so a response shows what served it. */
const versionEcho = () =>
  new ScriptedEngine('flan-a', t5Tokenizer(), async function* (request: GenerationRequest) {
    const id = request.model?.id ?? 'none';
    yield* sampleEvents([id], 'stop');
    yield { type: 'done', promptTokens: 1, completionTokens: 1, prompt: String(request.prompt) };
  });

describe.skipIf(!hasShared)('model versions by name, aliases and deletion', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(versionEcho(), { apiKeys: [KEY], adminKey: ADMIN });
    const { store } = server.serving.catalog;
    const parentDir = store.get('flan-a@base')!.modelDir;
    store.add({ id: FT_A, parentDir, modelDir: '/scripted/ft-a', jobId: 'ftjob-1', heldOutLoss: 1.5 });
    store.add({ id: FT_B, parentDir, modelDir: '/scripted/ft-b', jobId: 'ftjob-2', heldOutLoss: null });
  });
  afterAll(() => server?.close());

  const complete = async (model: string) => {
    const res = await post(`${server.url}/v1/completions`, { model, prompt: 'Who are you?' }, KEY);
    return res.status === 200 ? (await json(res)).choices[0].text : res.status;
  };
  const admin = (path: string, body: unknown = {}) => post(`${server.url}/admin/models${path}`, body, ADMIN);
  const listed = async () => (await json(await get(`${server.url}/v1/models`, KEY))).data.map((m: { id: string }) => m.id);

  it('serves every finetuned version by name beside the base, and lists them', async () => {
    const list = await json(await get(`${server.url}/v1/models`, KEY));
    expectMatchesSchema('ModelList', list);
    expect(list.data.map((m: { id: string; owned_by: string }) => [m.id, m.owned_by])).toEqual(
      expect.arrayContaining([
        ['flan-a', 'flan-serve'],
        [FT_A, 'user'],
        [FT_B, 'user'],
      ]),
    );
    expect(await complete('flan-a')).toBe('flan-a@base');
    expect(await complete(FT_A)).toBe(FT_A);
    expect(await complete(FT_B)).toBe(FT_B);
    expect(await complete('flan-a@base')).toBe('flan-a@base');
    expect(await complete('ft:nothing')).toBe(404);
  });

  it('lists versions with the active ones, for the admin key only', async () => {
    expect((await get(`${server.url}/admin/models`)).status).toBe(401);
    expect((await get(`${server.url}/admin/models`, KEY)).status).toBe(403);
    const list = await json(await get(`${server.url}/admin/models`, ADMIN));
    expectMatchesSchema('ModelVersionList', list);
    expect(list.active).toBe('flan-a@base');
    expect(list.data.map((v: { id: string; active: boolean }) => [v.id, v.active])).toEqual(
      expect.arrayContaining([
        ['flan-a@base', true],
        [FT_A, false],
      ]),
    );
  });

  it('activate and rollback move the alias and no other name', async () => {
    const activated = await json(await admin(`/${encodeURIComponent(FT_A)}/activate`));
    expectMatchesSchema('ModelVersion', activated);
    expect(activated).toMatchObject({ id: FT_A, model: 'flan-a', active: true });
    expect(await complete('flan-a')).toBe(FT_A);
    expect(await complete(FT_B)).toBe(FT_B);
    expect(await complete('flan-a@base')).toBe('flan-a@base');

    await admin(`/${encodeURIComponent(FT_B)}/activate`);
    expect(await complete('flan-a')).toBe(FT_B);
    expect(await json(await admin('/rollback', { model: 'flan-a' }))).toMatchObject({ id: FT_A });
    expect(await complete('flan-a')).toBe(FT_A);
    expect(await json(await admin('/rollback'))).toMatchObject({ id: 'flan-a@base' });
    expect(await complete('flan-a')).toBe('flan-a@base');
    const nothingBefore = await admin('/rollback');
    expect(nothingBefore.status).toBe(409);
    expect((await json(nothingBefore)).error.code).toBe('no_previous_version');
  });

  it('deletes a finetuned version (404 after), but not one an alias serves nor a base', async () => {
    const del = (model: string, key = ADMIN) => fetch(`${server.url}/v1/models/${encodeURIComponent(model)}`, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } });
    expect((await del(FT_B, KEY)).status).toBe(403);
    await admin(`/${encodeURIComponent(FT_A)}/activate`);
    const inUse = await del(FT_A);
    expect(inUse.status).toBe(409);
    expect((await json(inUse)).error.code).toBe('model_in_use');
    expect((await del('flan-a@base')).status).toBe(409);

    const deleted = await del(FT_B);
    expect(deleted.status).toBe(200);
    expect(await json(deleted)).toEqual({ id: FT_B, object: 'model', deleted: true });
    expect(await complete(FT_B)).toBe(404);
    expect(await listed()).not.toContain(FT_B);
    expect((await del(FT_B)).status).toBe(404);
    await admin('/rollback');
  });

  it('answers 404 for an unknown version', async () => {
    const res = await admin('/v9/activate');
    expect(res.status).toBe(404);
    expect((await json(res)).error).toMatchObject({ code: 'model_not_found', param: 'model' });
  });
});

describe.skipIf(!hasShared)('admin access without an admin key', () => {
  it('is refused when API keys are set (an API key must not swap the model)', async () => {
    const server = await startTestServer(versionEcho(), { apiKeys: [KEY] });
    try {
      const res = await get(`${server.url}/admin/models`, KEY);
      expect(res.status).toBe(403);
      expect((await json(res)).error.code).toBe('admin_disabled');
    } finally {
      await server.close();
    }
  });

  it('is open on a keyless (loopback-only) server', async () => {
    const server = await startTestServer(versionEcho());
    try {
      expect((await get(`${server.url}/admin/models`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
