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
  const describe = (engine: Engine): Model => ({ id: engine.modelId, object: 'model', created, owned_by: 'flan-serve' });

  app.get('/v1/models', { schema: routeSchema('get', '/v1/models'), onRequest: ctx.auth('api') }, async () => {
    const engine = ctx.registry.active();
    return { object: 'list' as const, data: engine ? [describe(engine)] : [] };
  });

  app.get('/v1/models/:model', { schema: routeSchema('get', '/v1/models/{model}'), onRequest: ctx.auth('api') }, async (request) => {
    const { model } = request.params as { model: string };
    const engine = ctx.registry.active();
    if (!engine || engine.modelId !== model) throw modelNotFound(model);
    return describe(engine);
  });
}
