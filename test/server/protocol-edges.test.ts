import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { parse } from 'yaml';
import { DEFAULT_LIMITS } from '../../runtime/engine/engine-core.ts';
import { specPath } from '../../server/openapi-spec.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { sampleEvents, ScriptedEngine } from './helpers/scripted-engine.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { json, post, startTestServer, t5Tokenizer, TINY_MODEL, type TestServer } from './helpers/test-server.ts';

const ADMIN = 'sk-admin';

function echoEngine(modelId = TINY_MODEL) {
  return new ScriptedEngine(modelId, t5Tokenizer(), async function* () {
    yield* sampleEvents(['ok'], 'stop');
    yield { type: 'done', promptTokens: 1, completionTokens: 1, prompt: 'Hi' };
  });
}

/** A raw request, so that headers and paths no fetch would send can be tried; resolves with status, headers and body. */
function rawRequest(url: string, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }) {
  const { port } = new URL(url);
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const expectOpenAiError = (body: string, status: number, code: string) => {
  const parsed = JSON.parse(body);
  expectMatchesSchema('Error', parsed);
  expect(parsed.error.code, `${status} ${body}`).toBe(code);
  return parsed.error as { message: string; type: string; param: string | null };
};

describe.skipIf(!hasShared)('the protocol as the official clients send it', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(echoEngine(), { apiKeys: ['sk-user'], adminKey: ADMIN }, ['v2']);
  });
  afterAll(() => server?.close());

  it('takes an empty JSON body on a POST route that has no body (the Python client sends one)', async () => {
    const activated = await post(`${server.url}/admin/models/v2/activate`, '', ADMIN);
    expect(activated.status, await activated.clone().text()).toBe(200);
    expect((await json(activated)).id).toBe('v2');
    const rolledBack = await post(`${server.url}/admin/models/rollback`, '', ADMIN);
    expect(rolledBack.status).toBe(200);
    expect((await json(rolledBack)).id).toBe(`${TINY_MODEL}@base`);
  });

  it('still refuses an empty body on a route that needs one', async () => {
    const res = await post(`${server.url}/v1/completions`, '', ADMIN);
    expect(res.status).toBe(400);
    expect((await json(res)).error.code).toBe('invalid_json');
  });

  it('answers GET on a POST route with 405 and Allow, in OpenAI shape', async () => {
    const res = await rawRequest(server.url, { path: '/v1/completions', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expectOpenAiError(res.body, 405, 'method_not_allowed');
  });

  it.each([10_000, 20_000])('answers a %i-byte path with 414 in OpenAI shape', async (length) => {
    // 10 kB passes Node's 16 KiB head limit and is refused by the app; 20 kB is refused by Node's parser.
    const res = await rawRequest(server.url, { path: `/v1/models/${'m'.repeat(length)}`, headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(414);
    expectOpenAiError(res.body, 414, 'uri_too_long');
  });

  it('answers headers past the size limit with 431 in OpenAI shape', async () => {
    const res = await rawRequest(server.url, { path: '/healthz', headers: { 'x-padding': 'p'.repeat(20_000) } });
    expect(res.status).toBe(431);
    expectOpenAiError(res.body, 431, 'headers_too_large');
  });

  it('answers a plain GET on the websocket route with 426 in OpenAI shape', async () => {
    const res = await rawRequest(server.url, { path: '/v1/chat/ws', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(426);
    expect(res.headers.upgrade).toBe('websocket');
    expectOpenAiError(res.body, 426, 'upgrade_required');
  });

  it('answers a malformed %-escape in a path parameter with 400 in OpenAI shape', async () => {
    const res = await rawRequest(server.url, { path: '/v1/models/%E0%A4%A', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(400);
    expectOpenAiError(res.body, 400, 'invalid_url');
  });

  it('states one max_tokens limit, the engine\'s, in the spec it serves, in openapi.yaml and in what it refuses', async () => {
    const spec = await json(await fetch(`${server.url}/openapi.json`));
    const yaml = parse(readFileSync(specPath, 'utf8'));
    for (const doc of [spec, yaml]) {
      const { CompletionRequest, ChatCompletionRequest } = doc.components.schemas;
      expect(CompletionRequest.properties.max_tokens.maximum).toBe(DEFAULT_LIMITS.maxNewTokens);
      expect(ChatCompletionRequest.properties.max_completion_tokens.maximum).toBe(DEFAULT_LIMITS.maxNewTokens);
    }
    const over = await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi', max_tokens: DEFAULT_LIMITS.maxNewTokens + 1 }, ADMIN);
    expect(over.status).toBe(400);
    expect((await json(over)).error.param).toBe('max_tokens');
  });

  it('names the real problem of a stop list that is too long', async () => {
    const res = await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi', stop: Array.from({ length: 100 }, (_, i) => `s${i}`) }, ADMIN);
    expect(res.status).toBe(400);
    const { error } = await json(res);
    expect(error.param).toBe('stop');
    expect(error.message).toMatch(/at most 4/);
  });
});
