import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EngineError } from '../../runtime/engine/engine-api.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { aborted, sampleEvents, ScriptedEngine } from './helpers/scripted-engine.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { get, json, post, startTestServer, t5Tokenizer, tinyEngine, TINY_MODEL, type TestServer } from './helpers/test-server.ts';
import { nextMessage, openSocket } from './helpers/ws-client.ts';

const KEY = 'sk-test-key';
const ADMIN = 'admin-test-key';
const model = TINY_MODEL;

interface BadInput {
  name: string;
  path?: string;
  body: unknown;
  key?: string | null;
  headers?: Record<string, string>;
  status: number;
  type: string;
  code: string;
  param?: string | null;
}

// Each row is documented in server/README.md; keep the two in step.
const table: BadInput[] = [
  { name: 'malformed JSON', body: '{"model": "flan-tiny", "prompt": ', status: 400, type: 'invalid_request_error', code: 'invalid_json' },
  { name: 'empty body', body: '', status: 400, type: 'invalid_request_error', code: 'invalid_json' },
  { name: 'wrong type: max_tokens as a string', body: { model, prompt: 'Hi', max_tokens: '8' }, status: 400, type: 'invalid_request_error', code: 'invalid_type', param: 'max_tokens' },
  { name: 'wrong type: prompt as a number', body: { model, prompt: 5 }, status: 400, type: 'invalid_request_error', code: 'invalid_type', param: 'prompt' },
  { name: 'missing prompt', body: { model }, status: 400, type: 'invalid_request_error', code: 'missing_required_parameter', param: 'prompt' },
  { name: 'unknown field', body: { model, prompt: 'Hi', best_of: 3 }, status: 400, type: 'invalid_request_error', code: 'unknown_parameter', param: 'best_of' },
  { name: 'bad chat role', path: '/v1/chat/completions', body: { model, messages: [{ role: 'robot', content: 'Hi' }] }, status: 400, type: 'invalid_request_error', code: 'invalid_value', param: 'messages[0].role' },
  { name: 'unknown model', body: { model: 'gpt-4', prompt: 'Hi' }, status: 404, type: 'invalid_request_error', code: 'model_not_found', param: 'model' },
  { name: 'over-long prompt', body: { model, prompt: 'word '.repeat(200) }, status: 400, type: 'invalid_request_error', code: 'context_length_exceeded', param: 'prompt' },
  { name: 'n too large', body: { model, prompt: 'Hi', n: 17 }, status: 400, type: 'invalid_request_error', code: 'invalid_value', param: 'n' },
  { name: 'stop with more than 4 strings', body: { model, prompt: 'Hi', stop: ['a', 'b', 'c', 'd', 'e'] }, status: 400, type: 'invalid_request_error', code: 'invalid_value', param: 'stop' },
  { name: 'max_tokens over the engine limit', body: { model, prompt: 'Hi', max_tokens: 1025 }, status: 400, type: 'invalid_request_error', code: 'invalid_value', param: 'max_tokens' },
  { name: 'temperature out of range', body: { model, prompt: 'Hi', temperature: 3 }, status: 400, type: 'invalid_request_error', code: 'invalid_value', param: 'temperature' },
  { name: 'token id outside the vocabulary', body: { model, prompt: [5, 999999] }, status: 400, type: 'invalid_request_error', code: 'invalid_value', param: 'prompt' },
  { name: 'self-consistency with one sample', body: { model, prompt: 'Hi', flan: { self_consistency: { samples: 1 } } }, status: 400, type: 'invalid_request_error', code: 'invalid_value', param: 'flan.self_consistency.samples' },
  { name: 'self-consistency with n', body: { model, prompt: 'Hi', n: 2, flan: { self_consistency: { samples: 3 } } }, status: 400, type: 'invalid_request_error', code: 'invalid_value', param: 'n' },
  { name: 'few-shot chain of thought without exemplars', body: { model, prompt: 'Hi', flan: { chain_of_thought: { mode: 'few-shot' } } }, status: 400, type: 'invalid_request_error', code: 'invalid_value', param: 'flan.chain_of_thought.exemplars' },
  { name: 'missing key', body: { model, prompt: 'Hi' }, key: null, status: 401, type: 'authentication_error', code: 'missing_api_key' },
  { name: 'wrong key', body: { model, prompt: 'Hi' }, key: 'sk-wrong', status: 401, type: 'authentication_error', code: 'invalid_api_key' },
  { name: 'API key on an admin route', path: '/admin/models/rollback', body: {}, status: 403, type: 'permission_error', code: 'admin_key_required' },
  { name: 'body over the size limit', body: { model, prompt: 'x'.repeat(70_000) }, status: 413, type: 'invalid_request_error', code: 'request_too_large' },
  { name: 'web page from another origin', body: { model, prompt: 'Hi' }, headers: { origin: 'https://evil.example' }, status: 403, type: 'permission_error', code: 'origin_not_allowed' },
  { name: 'unknown route', path: '/v1/embeddings', body: { model, input: 'Hi' }, status: 404, type: 'not_found_error', code: 'unknown_route' },
  { name: 'not JSON content type', body: 'Hi', headers: { 'content-type': 'text/plain' }, status: 415, type: 'invalid_request_error', code: 'unsupported_media_type' },
];

describe.skipIf(!hasShared)('bad inputs get an OpenAI-shaped error and leave the server answering', () => {
  let server: TestServer;

  beforeAll(async () => {
    const engine = await tinyEngine({ limits: { maxPromptTokens: 64 } });
    server = await startTestServer(engine, { apiKeys: [KEY], adminKey: ADMIN, limits: { bodyBytes: 64 * 1024, websocketMessageBytes: 1024 } });
  });
  afterAll(() => server?.close());

  const stillAnswers = async () => {
    const res = await post(`${server.url}/v1/completions`, { model, prompt: 'Are you there?', max_tokens: 2 }, KEY);
    expect(res.status).toBe(200);
    expect((await json(res)).choices).toHaveLength(1);
  };

  it.each(table)('$name → $status $code', async (row) => {
    const key = row.key === null ? undefined : (row.key ?? KEY);
    const res = await post(`${server.url}${row.path ?? '/v1/completions'}`, row.body, key, row.headers);
    const body = await json(res);
    expect(res.status).toBe(row.status);
    expectMatchesSchema('Error', body);
    expect(body.error.type).toBe(row.type);
    expect(body.error.code).toBe(row.code);
    if (row.param !== undefined) expect(body.error.param).toBe(row.param);
    expect(body.error.message.length).toBeGreaterThan(0);
    await stillAnswers();
  });

  it('closes a websocket that sends an oversized frame with 1009, and still answers', async () => {
    const socket = await openSocket(`${server.url}/v1/chat/ws`, KEY);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(JSON.stringify({ type: 'start', content: 'x'.repeat(4096) }));
    expect(await closed).toBe(1009);
    await stillAnswers();
  });

  it('answers malformed websocket messages with an error and keeps the socket open', async () => {
    const socket = await openSocket(`${server.url}/v1/chat/ws`, KEY);
    socket.send('{not json');
    expect(await nextMessage(socket)).toMatchObject({ type: 'error', error: { code: 'invalid_json' } });
    socket.send(JSON.stringify({ type: 'start', content: 42 }));
    expect(await nextMessage(socket)).toMatchObject({ type: 'error', error: { code: 'invalid_type', param: 'content' } });
    socket.send(JSON.stringify({ type: 'dance' }));
    expect(await nextMessage(socket)).toMatchObject({ type: 'error', error: { param: 'type' } });
    socket.send(JSON.stringify({ type: 'start', content: 'Hello', max_tokens: 2 }));
    let message = await nextMessage(socket);
    while (message.type === 'delta') message = await nextMessage(socket);
    expect(message.type).toBe('done');
    socket.close();
  });

  it('refuses a websocket upgrade without a key with 401', async () => {
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/v1/chat/ws`);
    const status = await new Promise<number>((resolve) => socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(401);
    await stillAnswers();
  });
});

describe.skipIf(!hasShared)('refusals and failures the real engine cannot be made to produce on cue', () => {
  it('answers 429 with Retry-After when the engine queue is full', async () => {
    const engine = new ScriptedEngine(TINY_MODEL, t5Tokenizer(), async function* () {
      yield* sampleEvents(['ok'], 'stop');
      yield { type: 'done', promptTokens: 2, completionTokens: 1, prompt: 'Hi' };
    });
    const server = await startTestServer(engine);
    try {
      engine.refuseNext = new EngineError('queue_full', 'the server is at capacity; retry shortly', undefined, 3);
      const res = await post(`${server.url}/v1/completions`, { model, prompt: 'Hi' });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('3');
      expect((await json(res)).error).toMatchObject({ type: 'rate_limit_error', code: 'queue_full' });
      const after = await post(`${server.url}/v1/completions`, { model, prompt: 'Hi' });
      expect((await json(after)).choices[0].text).toBe('ok');
    } finally {
      await server.close();
    }
  });

  it('answers 503 while no model is ready', async () => {
    const server = await startTestServer(undefined);
    try {
      const res = await post(`${server.url}/v1/completions`, { model, prompt: 'Hi' });
      expect(res.status).toBe(503);
      expect((await json(res)).error.code).toBe('model_not_ready');
      expect((await get(`${server.url}/readyz`)).status).toBe(503);
      expect((await get(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('cancels the generation through its AbortSignal when the client goes mid-stream', async () => {
    let sawAbort!: () => void;
    const abortSeen = new Promise<void>((resolve) => (sawAbort = resolve));
    const engine = new ScriptedEngine(TINY_MODEL, t5Tokenizer(), async function* (request) {
      yield { type: 'token', sample: 0, tokenId: 100, text: 'first' };
      await aborted(request.signal);
      sawAbort();
      yield* sampleEvents([], 'cancelled');
      yield { type: 'done', promptTokens: 2, completionTokens: 1, prompt: 'Hi' };
    });
    const server = await startTestServer(engine);
    try {
      const res = await post(`${server.url}/v1/completions`, { model, prompt: 'Hi', stream: true });
      const reader = res.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toContain('"first"');
      await reader.cancel();
      await abortSeen;
      expect(engine.requests[0].signal?.aborted).toBe(true);
      expect((await get(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('reports an engine failure after the stream began as an error event', async () => {
    const engine = new ScriptedEngine(TINY_MODEL, t5Tokenizer(), async function* () {
      yield { type: 'token', sample: 0, tokenId: 100, text: 'partial' };
      throw new EngineError('internal', 'generation failed: out of memory');
    });
    const server = await startTestServer(engine);
    try {
      const res = await post(`${server.url}/v1/completions`, { model, prompt: 'Hi', stream: true });
      const body = await res.text();
      expect(body).toContain('"partial"');
      expect(body).not.toContain('[DONE]');
      const last = JSON.parse(body.trim().split('\n\n').pop()!.slice('data: '.length));
      expect(last.error).toMatchObject({ type: 'server_error', code: 'internal_error' });
    } finally {
      await server.close();
    }
  });
});
