import type { FastifyInstance } from 'fastify';
import type { components } from '../../openapi/types.gen.ts';
import { ApiError } from '../api-error.ts';
import { RegistryError, type ModelVersionInfo } from '../model-registry.ts';
import { routeSchema } from '../openapi-spec.ts';
import type { ServerContext } from '../server-context.ts';

type ModelVersion = components['schemas']['ModelVersion'];

function fromRegistryError(err: unknown): unknown {
  if (!(err instanceof RegistryError)) return err;
  switch (err.code) {
    case 'unknown_version':
      return new ApiError(404, 'not_found_error', err.message, 'version_not_found', 'version');
    case 'no_previous_version':
      return new ApiError(409, 'invalid_request_error', err.message, 'no_previous_version');
    case 'load_failed':
      return new ApiError(500, 'server_error', err.message, 'load_failed');
  }
}

export async function adminRoutes(app: FastifyInstance, opts: { ctx: ServerContext }): Promise<void> {
  const { registry } = opts.ctx;
  const onRequest = opts.ctx.auth('admin');
  const view = (v: ModelVersionInfo, activeId: string | undefined): ModelVersion => ({
    id: v.id,
    model: v.modelId,
    created: v.createdAt,
    source: v.source,
    active: v.id === activeId,
  });

  app.get('/admin/models', { schema: routeSchema('get', '/admin/models'), onRequest }, async () => {
    const { versions, activeId } = await registry.list();
    return { object: 'list' as const, data: versions.map((v) => view(v, activeId)), active: activeId ?? null };
  });

  app.post('/admin/models/:version/activate', { schema: routeSchema('post', '/admin/models/{version}/activate'), onRequest }, async (request) => {
    const { version } = request.params as { version: string };
    const info = await registry.activate(version).catch((err) => Promise.reject(fromRegistryError(err)));
    request.log.info({ version: info.id }, 'model version activated');
    return view(info, info.id);
  });

  app.post('/admin/models/rollback', { schema: routeSchema('post', '/admin/models/rollback'), onRequest }, async (request) => {
    const info = await registry.rollback().catch((err) => Promise.reject(fromRegistryError(err)));
    request.log.info({ version: info.id }, 'model version rolled back');
    return view(info, info.id);
  });
}
