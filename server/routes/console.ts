import type { FastifyInstance } from 'fastify';
import { readdirSync, readFileSync } from 'node:fs';
import { ApiError } from '../api-error.ts';
import { routeSchema } from '../openapi-spec.ts';

/** web/: the console's page, scripts and stylesheet, served as they are (no build step). */
export const webDir = new URL('../../web/', import.meta.url);

const CONTENT_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

// The page holds an admin key, so it runs only its own files: nothing inline, nothing from elsewhere.
// Reports are shown in sandboxed srcdoc frames, which carry their own inline styles.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The admin console at /console. The files are read once, at registration: the set of assets is
 * fixed by what web/ holds, so a path can never reach outside it.
 */
export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  const page = readFileSync(new URL('index.html', webDir), 'utf8');
  const assets = new Map(
    readdirSync(webDir)
      .filter((name) => /^[a-z0-9-]+\.(js|css)$/.test(name))
      .map((name) => [name, { body: readFileSync(new URL(name, webDir), 'utf8'), type: CONTENT_TYPES[name.split('.').pop()!] }]),
  );

  app.get('/console', { schema: routeSchema('get', '/console') }, async (_request, reply) =>
    reply.headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(page),
  );

  app.get('/console/:asset', { schema: routeSchema('get', '/console/{asset}') }, async (request, reply) => {
    const { asset } = request.params as { asset: string };
    const file = assets.get(asset);
    if (!file) throw new ApiError(404, 'not_found_error', `The console has no file '${asset}'`, 'unknown_route', 'asset');
    return reply.headers(SECURITY_HEADERS).type(file.type).send(file.body);
  });
}
