import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { sampleEvents, ScriptedEngine } from './helpers/scripted-engine.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { get, json, post, startTestServer, t5Tokenizer, TINY_MODEL, type TestServer } from './helpers/test-server.ts';

const EVIL = 'https://evil.example';
const APP = 'https://app.example';

function echoEngine() {
  return new ScriptedEngine(TINY_MODEL, t5Tokenizer(), async function* () {
    yield* sampleEvents(['ok'], 'stop');
    yield { type: 'done', promptTokens: 1, completionTokens: 1, prompt: 'Hi' };
  });
}

/** Opens a websocket as a browser would: an Origin, and a key (if any) only as a subprotocol. */
function browserSocket(url: string, origin: string, protocols: string[] = []) {
  const socket = new WebSocket(url.replace(/^http/, 'ws') + '/v1/chat/ws', protocols, { origin });
  return new Promise<{ socket?: WebSocket; status?: number; first?: { type: string } }>((resolve) => {
    socket.once('message', (data) => resolve({ socket, first: JSON.parse(data.toString()) }));
    socket.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    socket.once('error', () => resolve({}));
  });
}

describe.skipIf(!hasShared)('a keyless server and the web pages its user visits', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(echoEngine(), {}, ['v2']);
  });
  afterAll(() => server?.close());

  it('refuses a cross-origin page that tries to activate a model version', async () => {
    const res = await post(`${server.url}/admin/models/v2/activate`, {}, undefined, { origin: EVIL });
    expect(res.status).toBe(403);
    const body = await json(res);
    expectMatchesSchema('Error', body);
    expect(body.error.code).toBe('origin_not_allowed');
    expect((await json(await get(`${server.url}/admin/models`))).active).toBe(`${TINY_MODEL}@base`);
  });

  it('refuses a cross-origin page\'s websocket chat', async () => {
    expect((await browserSocket(server.url, EVIL)).status).toBe(403);
  });

  it('serves same-origin pages (the /docs page) and clients that send no Origin', async () => {
    const page = await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi' }, undefined, { origin: server.url });
    expect(page.status).toBe(200);
    expect((await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi' })).status).toBe(200);
  });
});

describe.skipIf(!hasShared)('FLAN_CORS_ORIGINS', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(echoEngine(), { apiKeys: ['sk-user'], corsOrigins: [APP] });
  });
  afterAll(() => server?.close());

  it('answers an allowed origin\'s preflight and request with CORS headers', async () => {
    const preflight = await fetch(`${server.url}/v1/completions`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const res = await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi' }, 'sk-user', { origin: APP });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('still refuses other origins', async () => {
    const res = await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi' }, 'sk-user', { origin: EVIL });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('takes the websocket key as an openai-insecure-api-key subprotocol and answers with the other protocol offered', async () => {
    const opened = await browserSocket(server.url, APP, ['chat', 'openai-insecure-api-key.sk-user']);
    expect(opened.first?.type).toBe('ready');
    expect(opened.socket?.protocol).toBe('chat');
    opened.socket?.close();
    const alone = await browserSocket(server.url, APP, ['openai-insecure-api-key.sk-user']);
    expect(alone.first?.type).toBe('ready');
    alone.socket?.close();
    expect((await browserSocket(server.url, APP, ['chat', 'openai-insecure-api-key.sk-wrong'])).status).toBe(401);
    expect((await browserSocket(server.url, APP, ['chat'])).status).toBe(401);
  });
});

describe.skipIf(!hasShared)('rate limits per key', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(echoEngine(), { apiKeys: ['sk-a', 'sk-b'], rateLimit: { max: 3, windowMs: 60_000 } });
  });
  afterAll(() => server?.close());

  it('answers the request past the limit with 429 and Retry-After in OpenAI shape, and only for that key', async () => {
    const ask = (key?: string) => post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi' }, key);
    for (let i = 0; i < 3; i++) expect((await ask('sk-a')).status).toBe(200);
    const limited = await ask('sk-a');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = await json(limited);
    expectMatchesSchema('Error', body);
    expect(body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect((await ask('sk-b')).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await get(`${server.url}/healthz`)).status).toBe(200);
  });

  it('counts made-up keys against their address, not one budget each', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi' }, `sk-made-up-${i}`)).status);
    expect(statuses).toContain(429);
  });
});
