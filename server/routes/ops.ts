import type { FastifyInstance } from 'fastify';
import { shuttingDown } from '../api-error.ts';
import { renderDocsPage } from '../docs-page.ts';
import { loadSpec, routeSchema } from '../openapi-spec.ts';
import type { ServerContext } from '../server-context.ts';

/** Health, readiness, metrics and the API's own documentation: no key needed for any of them. */
export async function opsRoutes(app: FastifyInstance, opts: { ctx: ServerContext }): Promise<void> {
  const { ctx } = opts;
  const docs = renderDocsPage(loadSpec());

  app.get('/healthz', { schema: routeSchema('get', '/healthz') }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', { schema: routeSchema('get', '/readyz') }, async () => {
    if (ctx.lifecycle.closing) throw shuttingDown();
    return { status: 'ready' as const, model: ctx.defaultModel() };
  });

  app.get('/metrics', { schema: routeSchema('get', '/metrics') }, async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });

  app.get('/openapi.json', { schema: routeSchema('get', '/openapi.json') }, async () => loadSpec());

  app.get('/docs', { schema: routeSchema('get', '/docs') }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(docs));
}
