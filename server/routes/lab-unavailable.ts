import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api-error.ts';
import { documentedRoutes } from '../openapi-spec.ts';
import type { ServerContext } from '../server-context.ts';

const LAB_PATHS = /^\/(v1\/files|v1\/fine_tuning|admin\/evals)(\/|$)/;

const noDataDirectory = () =>
  new ApiError(503, 'server_error', 'This server has no data directory, so it keeps no files, fine-tuning jobs or eval runs', 'lab_unavailable');

/**
 * The files, fine-tuning and eval routes of a server built without a Lab (no data directory, or one
 * that could not be opened, e.g. a full disk: `reason`): still registered, as every documented route
 * is, and answering why they cannot work here.
 */
export async function labUnavailableRoutes(app: FastifyInstance, opts: { ctx: ServerContext; reason?: ApiError }): Promise<void> {
  const onRequest = opts.ctx.auth('admin');
  for (const route of documentedRoutes()) {
    const [method, url] = route.split(' ');
    if (!LAB_PATHS.test(url)) continue;
    app.route({
      method: method as 'GET' | 'POST' | 'DELETE',
      url,
      onRequest,
      handler: async () => {
        throw opts.reason ?? noDataDirectory();
      },
    });
  }
}
