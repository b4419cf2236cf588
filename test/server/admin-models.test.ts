import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationRequest } from '../../runtime/engine/engine-api.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { sampleEvents, ScriptedEngine } from './helpers/scripted-engine.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { get, json, post, startTestServer, t5Tokenizer, type TestServer } from './helpers/test-server.ts';

const KEY = 'sk-user';
const ADMIN = 'sk-admin';

/** An engine that answers with its own name, so a response shows which version served it. */
const namedEngine = (modelId: string) =>
  new ScriptedEngine(modelId, t5Tokenizer(), async function* (request: GenerationRequest) {
    yield* sampleEvents([modelId], 'stop');
    yield { type: 'done', promptTokens: 1, completionTokens: 1, prompt: String(request.prompt) };
  });

describe.skipIf(!hasShared)('admin model versions', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer([namedEngine('flan-a'), namedEngine('flan-b')], { apiKeys: [KEY], adminKey: ADMIN });
  });
  afterAll(() => server?.close());

  const complete = (model: string) => post(`${server.url}/v1/completions`, { model, prompt: 'Who are you?' }, KEY);
  const admin = (path: string) => post(`${server.url}/admin/models${path}`, {}, ADMIN);

  it('lists versions with the active one, for the admin key only', async () => {
    expect((await get(`${server.url}/admin/models`)).status).toBe(401);
    expect((await get(`${server.url}/admin/models`, KEY)).status).toBe(403);
    const list = await json(await get(`${server.url}/admin/models`, ADMIN));
    expectMatchesSchema('ModelVersionList', list);
    expect(list.active).toBe('v1');
    expect(list.data.map((v: { id: string; active: boolean }) => [v.id, v.active])).toEqual([
      ['v2', false],
      ['v1', true],
    ]);
  });

  it('activates a version for new requests and rolls back to the previous one', async () => {
    const activated = await json(await admin('/v2/activate'));
    expectMatchesSchema('ModelVersion', activated);
    expect(activated).toMatchObject({ id: 'v2', model: 'flan-b', active: true });
    expect((await json(await get(`${server.url}/v1/models`, KEY))).data[0].id).toBe('flan-b');
    expect((await json(await complete('flan-b'))).choices[0].text).toBe('flan-b');
    expect((await complete('flan-a')).status).toBe(404);

    expect(await json(await admin('/rollback'))).toMatchObject({ id: 'v1', model: 'flan-a' });
    expect((await json(await complete('flan-a'))).choices[0].text).toBe('flan-a');
    const nothingBefore = await admin('/rollback');
    expect(nothingBefore.status).toBe(409);
    expect((await json(nothingBefore)).error.code).toBe('no_previous_version');
  });

  it('answers 404 for an unknown version', async () => {
    const res = await admin('/v9/activate');
    expect(res.status).toBe(404);
    expect((await json(res)).error).toMatchObject({ code: 'version_not_found', param: 'version' });
  });
});

describe.skipIf(!hasShared)('admin access without an admin key', () => {
  it('is refused when API keys are set (an API key must not swap the model)', async () => {
    const server = await startTestServer([namedEngine('flan-a')], { apiKeys: [KEY] });
    try {
      const res = await get(`${server.url}/admin/models`, KEY);
      expect(res.status).toBe(403);
      expect((await json(res)).error.code).toBe('admin_disabled');
    } finally {
      await server.close();
    }
  });

  it('is open on a keyless (loopback-only) server', async () => {
    const server = await startTestServer([namedEngine('flan-a')]);
    try {
      expect((await get(`${server.url}/admin/models`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
