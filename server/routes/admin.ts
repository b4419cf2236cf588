import type { FastifyInstance } from 'fastify';
import type { components } from '../../openapi/types.gen.ts';
import type { Alias, ModelVersion } from '../../runtime/versions/version-store.ts';
import { fromVersionError } from '../api-error.ts';
import { routeSchema } from '../openapi-spec.ts';
import type { ServerContext } from '../server-context.ts';

type VersionView = components['schemas']['ModelVersion'];

function source(v: ModelVersion): string {
  if (v.kind === 'base') return v.modelDir;
  return `finetune job ${v.jobId}${v.heldOutLoss === null ? '' : ` (held-out loss ${v.heldOutLoss.toFixed(4)})`}`;
}

export async function adminRoutes(app: FastifyInstance, opts: { ctx: ServerContext }): Promise<void> {
  const { ctx } = opts;
  const onRequest = ctx.auth('admin');
  const view = (v: ModelVersion, aliases: Alias[]): VersionView => ({
    id: v.id,
    model: v.alias,
    created: v.createdAt,
    source: source(v),
    active: aliases.some((a) => a.versionId === v.id),
  });
  const aliasView = (alias: Alias) => {
    const { store } = ctx.catalog;
    return view(store.get(alias.versionId)!, store.aliases());
  };

  app.get('/admin/models', { schema: routeSchema('get', '/admin/models'), onRequest }, async () => {
    const { store } = ctx.catalog;
    const aliases = store.aliases();
    return { object: 'list' as const, data: store.list().map((v) => view(v, aliases)), active: aliases[0]?.versionId ?? null };
  });

  app.post('/admin/models/:version/activate', { schema: routeSchema('post', '/admin/models/{version}/activate'), onRequest }, async (request) => {
    const { version } = request.params as { version: string };
    const alias = await ctx.catalog.activate(version).catch((err) => Promise.reject(fromVersionError(err)));
    request.log.info({ version, alias: alias.name }, 'model version activated');
    return aliasView(alias);
  });

  app.post('/admin/models/rollback', { schema: routeSchema('post', '/admin/models/rollback'), onRequest }, async (request) => {
    const body = (request.body ?? {}) as { model?: string };
    const alias = await ctx.catalog.rollback(body.model).catch((err) => Promise.reject(fromVersionError(err)));
    request.log.info({ version: alias.versionId, alias: alias.name }, 'model version rolled back');
    return aliasView(alias);
  });
}
