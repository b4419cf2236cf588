import type { FastifyInstance } from 'fastify';
import type { components } from '../../openapi/types.gen.ts';
import type { Engine } from '../../runtime/engine/engine-api.ts';
import { modelNotFound } from '../api-error.ts';
import { routeSchema } from '../openapi-spec.ts';
import type { ServerContext } from '../server-context.ts';

type Model = components['schemas']['Model'];

export async function modelRoutes(app: FastifyInstance, opts: { ctx: ServerContext }): Promise<void> {
  const { ctx } = opts;
  // The server started serving when it came up; a hot swap keeps the id clients already use.
  const created = Math.floor(Date.now() / 1000);
  const describe = (id: string): Model => ({ id, object: 'model', created, owned_by: 'flan-serve' });
  // The active engine's own id, then the registry's aliases for it (the base name after a hot swap).
  const names = (engine: Engine | undefined) =>
    engine ? [engine.modelId, ...(ctx.registry.aliases?.() ?? []).filter((a) => a !== engine.modelId)] : [];

  app.get('/v1/models', { schema: routeSchema('get', '/v1/models'), onRequest: ctx.auth('api') }, async () => {
    return { object: 'list' as const, data: names(ctx.registry.active()).map(describe) };
  });

  app.get('/v1/models/:model', { schema: routeSchema('get', '/v1/models/{model}'), onRequest: ctx.auth('api') }, async (request) => {
    const { model } = request.params as { model: string };
    if (!names(ctx.registry.active()).includes(model)) throw modelNotFound(model);
    return describe(model);
  });
}
