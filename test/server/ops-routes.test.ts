import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildApp } from '../../server/app.ts';
import { notServing } from './helpers/test-server.ts';
import { documentedRoutes, specPath } from '../../server/openapi-spec.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { sampleEvents, ScriptedEngine } from './helpers/scripted-engine.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { get, json, post, startTestServer, t5Tokenizer, TINY_MODEL, type TestServer } from './helpers/test-server.ts';

describe.skipIf(!hasShared)('health, readiness, metrics and documentation', () => {
  let server: TestServer;
  beforeAll(async () => {
    const engine = new ScriptedEngine(TINY_MODEL, t5Tokenizer(), async function* () {
      yield* sampleEvents(['a', 'b', 'c'], 'stop');
      yield { type: 'done', promptTokens: 5, completionTokens: 3, prompt: 'Hi' };
    });
    server = await startTestServer(engine, { apiKeys: ['k'] });
  });
  afterAll(() => server?.close());

  it('answers /healthz and /readyz without a key', async () => {
    const health = await get(`${server.url}/healthz`);
    expectMatchesSchema('Health', await json(health));
    const ready = await json(await get(`${server.url}/readyz`));
    expectMatchesSchema('Readiness', ready);
    expect(ready).toEqual({ status: 'ready', model: TINY_MODEL });
  });

  it('serves openapi.yaml as /openapi.json and a docs page naming every route', async () => {
    const served = await json(await get(`${server.url}/openapi.json`));
    expect(served).toEqual(parse(readFileSync(specPath, 'utf8')));
    const docs = await (await get(`${server.url}/docs`)).text();
    for (const path of Object.keys(served.paths)) expect(docs).toContain(`<code>${path}</code>`);
  });

  it('registers every documented route', () => {
    for (const route of documentedRoutes()) {
      const [method, url] = route.split(' ');
      expect(server.app.hasRoute({ method: method as 'GET' | 'POST', url }), route).toBe(true);
    }
  });

  it('refuses to register a route the spec does not describe', async () => {
    const app = await buildApp({ serving: notServing(), config: { apiKeys: [] } });
    expect(() => app.get('/v1/undocumented', async () => 'hidden')).toThrow(/not described in openapi\/openapi.yaml/);
    await app.close();
  });

  it('counts requests, tokens and latencies in Prometheus text', async () => {
    const res = await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi' }, 'k');
    expect(res.status).toBe(200);
    await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi' });
    const text = await (await get(`${server.url}/metrics`)).text();
    expect(text).toContain('flan_http_requests_total{method="POST",route="/v1/completions",status="200"} 1');
    expect(text).toContain('flan_http_requests_total{method="POST",route="/v1/completions",status="401"} 1');
    expect(text).toContain('flan_tokens_total{kind="prompt"} 5');
    expect(text).toContain('flan_tokens_total{kind="completion"} 3');
    expect(text).toContain('flan_time_to_first_token_seconds_count 1');
    // Three tokens of one sample: two gaps between them.
    expect(text).toContain('flan_inter_token_latency_seconds_count 2');
    expect(text).toMatch(/^flan_queue_depth 0$/m);
    expect(text).toMatch(/^flan_batch_size 0$/m);
  });
});
