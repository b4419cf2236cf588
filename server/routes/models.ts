import type { FastifyInstance } from 'fastify';
import type { components } from '../../openapi/types.gen.ts';
import type { ServedName } from '../../runtime/versions/model-catalog.ts';
import { fromVersionError, modelNotFound } from '../api-error.ts';
import { routeSchema } from '../openapi-spec.ts';
import type { ServerContext } from '../server-context.ts';

type Model = components['schemas']['Model'];

export async function modelRoutes(app: FastifyInstance, opts: { ctx: ServerContext }): Promise<void> {
  const { ctx } = opts;
  const describe = (name: ServedName): Model => ({
    id: name.id,
    object: 'model',
    created: name.created,
    owned_by: name.ownedBy,
    ...(name.parent ? { parent: name.parent } : {}),
  });
  const served = () => (ctx.serving.ready ? ctx.catalog.servedNames() : []);

  app.get('/v1/models', { schema: routeSchema('get', '/v1/models'), onRequest: ctx.auth('api') }, async () => {
    return { object: 'list' as const, data: served().map(describe) };
  });

  app.get('/v1/models/:model', { schema: routeSchema('get', '/v1/models/{model}'), onRequest: ctx.auth('api') }, async (request) => {
    const { model } = request.params as { model: string };
    const listed = served().find((n) => n.id === model);
    if (listed) return describe(listed);
    // Names not listed still answer when they serve something (a base checkpoint's `<name>@base`).
    const version = ctx.serving.ready ? ctx.catalog.resolve(model)?.version : undefined;
    if (!version) throw modelNotFound(model);
    return describe({
      id: model,
      created: version.createdAt,
      ownedBy: version.kind === 'base' ? 'flan-serve' : 'user',
      ...(version.baseVersion ? { parent: version.baseVersion } : {}),
    });
  });

  app.delete('/v1/models/:model', { schema: routeSchema('delete', '/v1/models/{model}'), onRequest: ctx.auth('admin') }, async (request) => {
    const { model } = request.params as { model: string };
    const version = await ctx.catalog.remove(model).catch((err) => Promise.reject(fromVersionError(err)));
    request.log.info({ model: version.id }, 'model deleted');
    return { id: version.id, object: 'model' as const, deleted: true };
  });
}
