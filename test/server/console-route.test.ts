import type { FastifyInstance } from 'fastify';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { webDir } from '../../server/routes/console.ts';
import { notServing } from './helpers/test-server.ts';

/** The console's files as the server hands them out; the page itself is tested in test/browser. */
describe('GET /console', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    // Keys set: the page and its files need none, whatever the server's keys.
    app = await buildApp({ serving: notServing(), config: { apiKeys: ['k'], adminKey: 'a' } });
  });
  afterAll(() => app.close());

  it('serves the page with a policy that lets it run only its own files', async () => {
    const res = await app.inject({ method: 'GET', url: '/console' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toBe(readFileSync(new URL('index.html', webDir), 'utf8'));
    expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(res.headers['content-security-policy']).not.toMatch(/script-src[^;]*unsafe/);
  });

  it('serves every script and stylesheet the page and its modules import, with its type', async () => {
    const files = readdirSync(webDir).filter((f) => /\.(js|css)$/.test(f));
    const referenced = new Set<string>();
    for (const source of ['index.html', ...files]) {
      const text = readFileSync(new URL(source, webDir), 'utf8');
      for (const m of text.matchAll(/(?:href|src)="\/console\/([^"]+)"|from '\.\/([^']+)'/g)) referenced.add(m[1] ?? m[2]);
    }
    expect([...referenced].sort()).toEqual(files.sort());
    for (const file of files) {
      const res = await app.inject({ method: 'GET', url: `/console/${file}` });
      expect(res.statusCode, file).toBe(200);
      expect(res.headers['content-type']).toBe(file.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
    }
  });

  it('answers an unknown file with a 404 and a path outside web/ with a 400, in OpenAI shape', async () => {
    const missing = await app.inject({ method: 'GET', url: '/console/missing.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { message: "The console has no file 'missing.js'", type: 'not_found_error', param: 'asset', code: 'unknown_route' } });
    const escaped = await app.inject({ method: 'GET', url: '/console/..%2Fpackage.json' });
    expect(escaped.statusCode).toBe(400);
    expect(escaped.json().error.param).toBe('asset');
  });
});
