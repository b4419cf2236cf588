import type { FastifyInstance, FastifyRequest } from 'fastify';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { compareRuns, renderComparisonHtml, renderRunHtml } from '../../eval/index.ts';
import type { components } from '../../openapi/types.gen.ts';
import { ApiError, badRequest, notReady } from '../api-error.ts';
import { EvalRunError, type EvalRun, type EvalRunRequest, type EvalRuns } from '../eval-runs.ts';
import { routeSchema } from '../openapi-spec.ts';
import { pageFromProbe, pageQuery } from '../page-query.ts';
import type { ServerContext } from '../server-context.ts';

type RunView = components['schemas']['EvalRun'];
type RunRequest = components['schemas']['EvalRunRequest'];

function fromEvalError(err: unknown): unknown {
  if (!(err instanceof EvalRunError)) return err;
  switch (err.code) {
    case 'invalid_eval':
      return badRequest(err.message, null, 'invalid_eval');
    case 'eval_not_found':
      return new ApiError(404, 'not_found_error', err.message, 'eval_not_found', 'eval_id');
    case 'eval_not_cancellable':
      return new ApiError(409, 'invalid_request_error', err.message, 'eval_not_cancellable');
  }
}

const rethrow = <T>(work: () => T): T => {
  try {
    return work();
  } catch (err) {
    throw fromEvalError(err);
  }
};

function view(run: EvalRun): RunView {
  const { request } = run;
  return {
    id: run.id,
    object: 'eval.run',
    status: run.status,
    created_at: run.createdAt,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    suite: request.suite,
    mode: request.mode,
    tasks: request.tasks ?? null,
    data_dir: request.dataDir ?? null,
    limit: request.limit ?? null,
    concurrency: request.concurrency,
    model: request.model,
    model_version: run.modelVersion,
    scorer: request.scorer?.kind ?? null,
    progress: run.progress && {
      done: run.progress.done,
      total: run.progress.total,
      task: run.progress.task,
      ...(run.progress.etaSeconds !== undefined ? { eta_seconds: run.progress.etaSeconds } : {}),
    },
    summary: run.summary,
    results: run.metrics,
    error: run.error,
    report: run.status === 'succeeded' ? `/admin/evals/${run.id}/report` : null,
  };
}

/** This server as its own client sees it: the address it listens on (loopback for a wildcard bind). */
function ownBaseUrl(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo | null;
  if (!address) throw notReady('The server is not listening yet');
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

const bearer = (request: FastifyRequest) => /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1].trim();

/** Eval runs against this same server, in the background; results survive restarts. Admin key only. */
export async function adminEvalRoutes(app: FastifyInstance, opts: { ctx: ServerContext; evals: EvalRuns }): Promise<void> {
  const { ctx, evals } = opts;
  const onRequest = ctx.auth('admin');
  const runParam = (params: unknown) => (params as { eval_id: string }).eval_id;

  app.post('/admin/evals', { schema: routeSchema('post', '/admin/evals'), onRequest }, async (request) => {
    const body = request.body as RunRequest;
    const defaultModel = ctx.defaultModel();
    if (body.suite !== 'synthetic') {
      if (!body.data_dir) throw badRequest(`Suite ${body.suite} needs data_dir, the benchmark's directory on the server`, 'data_dir', 'missing_required_parameter');
      if (!existsSync(body.data_dir)) throw badRequest(`data_dir ${body.data_dir} does not exist on the server`, 'data_dir');
    }
    if (body.suite === 'rtp' && !body.scorer) throw badRequest('Suite rtp needs a scorer for the continuations', 'scorer', 'missing_required_parameter');
    if (body.suite !== 'rtp' && body.scorer) throw badRequest('scorer applies to suite rtp only', 'scorer');
    const scorer = body.scorer && {
      kind: body.scorer.kind,
      ...(body.scorer.perspective_url ? { perspectiveUrl: body.scorer.perspective_url } : {}),
      ...(body.scorer.classifier_dir ? { classifierDir: resolve(body.scorer.classifier_dir) } : {}),
    };
    const runRequest: EvalRunRequest = {
      suite: body.suite,
      mode: body.mode ?? 'direct',
      concurrency: body.concurrency ?? 2,
      // An alias keeps reaching the active version, so a hot swap mid-run does not fail requests.
      model: body.model ?? defaultModel,
      ...(body.tasks ? { tasks: body.tasks } : {}),
      ...(body.data_dir ? { dataDir: resolve(body.data_dir) } : {}),
      ...(body.limit !== undefined ? { limit: body.limit } : {}),
      ...(body.samples !== undefined ? { samples: body.samples } : {}),
      ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
      ...(body.scoring !== undefined ? { scoring: body.scoring } : {}),
      ...(scorer ? { scorer } : {}),
    };
    const key = bearer(request);
    const target = { server: ownBaseUrl(app), ...(key ? { apiKey: key } : {}), ...(body.scorer?.perspective_key ? { perspectiveKey: body.scorer.perspective_key } : {}) };
    const run = await evals.create(runRequest, target).catch((err) => Promise.reject(fromEvalError(err)));
    request.log.info({ eval: run.id, suite: runRequest.suite, mode: runRequest.mode }, 'eval run queued');
    return view(run);
  });

  app.get('/admin/evals', { schema: routeSchema('get', '/admin/evals'), onRequest }, async (request) => {
    const { after, limit } = pageQuery(request.query);
    const page = pageFromProbe(evals.list({ ...(after ? { after } : {}), limit: limit + 1 }), limit);
    return { ...page, data: page.data.map(view) };
  });

  app.get('/admin/evals/:eval_id', { schema: routeSchema('get', '/admin/evals/{eval_id}'), onRequest }, async (request) =>
    view(rethrow(() => evals.get(runParam(request.params)))),
  );

  app.get('/admin/evals/:eval_id/report', { schema: routeSchema('get', '/admin/evals/{eval_id}/report'), onRequest }, async (request, reply) => {
    const { run, result } = rethrow(() => evals.result(runParam(request.params)));
    if (!result) throw new ApiError(409, 'invalid_request_error', `Eval run ${run.id} is ${run.status}; its report exists once it has succeeded`, 'report_not_ready');
    return reply.type('text/html; charset=utf-8').send(renderRunHtml(result));
  });

  app.get(
    '/admin/evals/:eval_id/compare/:other_eval_id',
    { schema: routeSchema('get', '/admin/evals/{eval_id}/compare/{other_eval_id}'), onRequest },
    async (request, reply) => {
      const { eval_id, other_eval_id } = request.params as { eval_id: string; other_eval_id: string };
      const [before, after] = [eval_id, other_eval_id].map((id) => {
        const { run, result } = rethrow(() => evals.result(id));
        if (!result) throw new ApiError(409, 'invalid_request_error', `Eval run ${id} is ${run.status}; only finished runs compare`, 'report_not_ready');
        // Both runs usually name the same model; the version each measured is what differs.
        return { ...result, model: `${result.model} [${run.modelVersion ?? 'unknown version'}]` };
      });
      if (before.suite !== after.suite) throw badRequest(`Cannot compare a ${before.suite} run with a ${after.suite} run`, 'other_eval_id');
      return reply.type('text/html; charset=utf-8').send(renderComparisonHtml(compareRuns(before, after)));
    },
  );

  app.post('/admin/evals/:eval_id/cancel', { schema: routeSchema('post', '/admin/evals/{eval_id}/cancel'), onRequest }, async (request) => {
    const run = rethrow(() => evals.cancel(runParam(request.params)));
    request.log.info({ eval: run.id }, 'eval run cancel requested');
    return view(run);
  });
}
