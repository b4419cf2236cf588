import type { FastifyInstance } from 'fastify';
import { basename } from 'node:path';
import { JobRequestError, type FinetuneJob, type JobEvent, type JobManager, type ModelVersion } from '../../finetune/jobs/job-manager.ts';
import type { components } from '../../openapi/types.gen.ts';
import { ApiError, badRequest, modelNotFound } from '../api-error.ts';
import type { FileStore } from '../file-store.ts';
import type { FineTuningRecords } from '../fine-tuning-records.ts';
import { DEFAULT_LEARNING_RATE, planJob } from '../fine-tuning-spec.ts';
import { routeSchema } from '../openapi-spec.ts';
import { pageFromProbe, pageOf, pageQuery } from '../page-query.ts';
import type { ServerContext } from '../server-context.ts';

type JobView = components['schemas']['FineTuningJob'];
type EventView = components['schemas']['FineTuningEvent'];
type CheckpointView = components['schemas']['FineTuningCheckpoint'];
type JobRequest = components['schemas']['FineTuningJobRequest'];

export interface FineTuningServices {
  jobs: JobManager;
  files: FileStore;
  records: FineTuningRecords;
  /** The directory of a model the server knows, by name or version id. */
  modelDir(name: string): string | undefined;
}

function fromJobError(err: unknown): unknown {
  if (!(err instanceof JobRequestError)) return err;
  switch (err.code) {
    case 'invalid_training_file':
      return badRequest(err.message, 'training_file', 'invalid_training_file');
    case 'invalid_request':
      return badRequest(err.message);
    case 'job_not_found':
      return new ApiError(404, 'invalid_request_error', err.message, 'job_not_found', 'fine_tuning_job_id');
    case 'job_not_cancellable':
    case 'job_not_running':
      return new ApiError(409, 'invalid_request_error', err.message, err.code);
  }
}

const rethrow = <T>(work: () => T): T => {
  try {
    return work();
  } catch (err) {
    throw fromJobError(err);
  }
};

const eventId = (e: JobEvent) => `ftevent-${e.seq}`;

function eventSeq(after: string | undefined): number | undefined {
  if (after === undefined) return undefined;
  const match = /^ftevent-(\d+)$/.exec(after);
  if (!match) throw badRequest(`after must be an event id (ftevent-<n>), not '${after}'`, 'after');
  return Number(match[1]);
}

/** OpenAI's fine-tuning API over the JobManager, plus the loss curve as SVG. Admin key only. */
export async function fineTuningRoutes(app: FastifyInstance, opts: { ctx: ServerContext; services: FineTuningServices }): Promise<void> {
  const { jobs, files, records } = opts.services;
  const onRequest = opts.ctx.auth('admin');

  const view = (job: FinetuneJob): JobView => {
    const record = records.get(job.id);
    // One indexed row, not the job's whole history: listing jobs stays O(limit).
    const [last] = job.status === 'running' ? jobs.eventsNewestFirst(job.id, { limit: 1, type: 'metrics' }) : [];
    const eta = job.status === 'running' && last ? last.createdAt + Math.round(Number(last.data?.eta_seconds ?? 0)) : null;
    const { spec } = job;
    return {
      id: job.id,
      object: 'fine_tuning.job',
      created_at: job.createdAt,
      finished_at: job.finishedAt,
      model: record?.model ?? basename(spec.baseModelDir),
      fine_tuned_model: job.fineTunedModel,
      organization_id: 'flan-serve',
      status: job.status,
      hyperparameters: record?.hyperparameters ?? {
        n_epochs: 'auto',
        batch_size: spec.batch.batchSize * spec.batch.microBatches,
        learning_rate_multiplier: spec.optimizer.lr / DEFAULT_LEARNING_RATE[spec.optimizer.kind],
      },
      training_file: record?.trainingFile ?? files.idOf(spec.trainingFile) ?? basename(spec.trainingFile),
      validation_file: null,
      result_files: [],
      trained_tokens: job.trainedSteps === 0 ? null : job.trainedTokens,
      error: job.error && { ...job.error, param: null },
      seed: spec.seed,
      estimated_finish: eta,
      flan: {
        method: spec.method.kind,
        optimizer: spec.optimizer.kind,
        learning_rate: spec.optimizer.lr,
        steps: spec.steps,
        trained_steps: job.trainedSteps,
        hot_swap: job.publish,
        continual: spec.continual?.publishEvery ?? null,
        loss_curve: `/v1/fine_tuning/jobs/${job.id}/loss_curve`,
      },
    };
  };

  const eventView = (e: JobEvent): EventView => ({
    id: eventId(e),
    object: 'fine_tuning.job.event',
    created_at: e.createdAt,
    level: e.level,
    message: e.message,
    type: e.type === 'metrics' ? 'metrics' : 'message',
    event: e.type,
    data: e.data,
  });

  const checkpointView = (job: FinetuneJob, v: ModelVersion): CheckpointView => {
    const step = Number(/:step-(\d+)$/.exec(v.id)?.[1] ?? job.spec.steps);
    return {
      id: `ftckpt-${job.id.replace(/^ftjob-/, '')}-${step}`,
      object: 'fine_tuning.job.checkpoint',
      created_at: v.createdAt,
      fine_tuned_model_checkpoint: v.id,
      fine_tuning_job_id: job.id,
      step_number: step,
      metrics: { step, ...(v.heldOutLoss === null ? {} : { valid_loss: v.heldOutLoss }) },
      published: v.published,
    };
  };

  const jobParam = (params: unknown) => (params as { fine_tuning_job_id: string }).fine_tuning_job_id;

  app.post('/v1/fine_tuning/jobs', { schema: routeSchema('post', '/v1/fine_tuning/jobs'), onRequest }, async (request) => {
    const body = request.body as JobRequest;
    if (body.validation_file) {
      throw badRequest('validation_file is not supported: the job holds out flan.held_out_fraction of training_file to measure held-out loss', 'validation_file', 'unsupported_parameter');
    }
    const baseModelDir = opts.services.modelDir(body.model);
    if (!baseModelDir) throw modelNotFound(body.model);
    const file = files.get(body.training_file);
    const trainingFile = files.contentPath(body.training_file);
    if (!file || !trainingFile) throw new ApiError(404, 'invalid_request_error', `No such File object: ${body.training_file}`, 'file_not_found', 'training_file');
    const plan = planJob(body, { baseModelDir, trainingFile, examples: file.examples });
    // Stored files were checked line by line (off the main thread) when uploaded, and never change.
    const job = rethrow(() => jobs.create({ spec: plan.spec, publish: plan.publish, trainingFileChecked: true, ...(plan.suffix ? { suffix: plan.suffix } : {}) }));
    records.add({ jobId: job.id, model: body.model, trainingFile: file.id, hyperparameters: plan.hyperparameters });
    request.log.info({ job: job.id, model: body.model, steps: plan.spec.steps }, 'fine-tuning job created');
    return view(job);
  });

  app.get('/v1/fine_tuning/jobs', { schema: routeSchema('get', '/v1/fine_tuning/jobs'), onRequest }, async (request) => {
    const { after, limit } = pageQuery(request.query);
    const page = pageFromProbe(jobs.list({ ...(after ? { after } : {}), limit: limit + 1 }), limit);
    return { ...page, data: page.data.map(view) };
  });

  app.get('/v1/fine_tuning/jobs/:fine_tuning_job_id', { schema: routeSchema('get', '/v1/fine_tuning/jobs/{fine_tuning_job_id}'), onRequest }, async (request) =>
    view(rethrow(() => jobs.get(jobParam(request.params)))),
  );

  app.get(
    '/v1/fine_tuning/jobs/:fine_tuning_job_id/events',
    { schema: routeSchema('get', '/v1/fine_tuning/jobs/{fine_tuning_job_id}/events'), onRequest },
    async (request) => {
      const { after, limit } = pageQuery(request.query);
      const seq = eventSeq(after);
      // Newest first, as OpenAI lists them: `after` (the last id of a page) pages back in time.
      const events = rethrow(() => jobs.eventsNewestFirst(jobParam(request.params), { ...(seq !== undefined ? { before: seq } : {}), limit: limit + 1 }));
      const page = pageFromProbe(events, limit);
      return { ...page, data: page.data.map(eventView) };
    },
  );

  app.get(
    '/v1/fine_tuning/jobs/:fine_tuning_job_id/checkpoints',
    { schema: routeSchema('get', '/v1/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints'), onRequest },
    async (request) => {
      const query = pageQuery(request.query);
      const job = rethrow(() => jobs.get(jobParam(request.params)));
      const all = jobs.checkpoints(job.id).map((v) => checkpointView(job, v));
      return pageOf(all, query, (c) => c.id);
    },
  );

  app.post(
    '/v1/fine_tuning/jobs/:fine_tuning_job_id/cancel',
    { schema: routeSchema('post', '/v1/fine_tuning/jobs/{fine_tuning_job_id}/cancel'), onRequest },
    async (request) => {
      const job = rethrow(() => jobs.cancel(jobParam(request.params)));
      request.log.info({ job: job.id }, 'fine-tuning job cancel requested');
      return view(job);
    },
  );

  app.post(
    '/v1/fine_tuning/jobs/:fine_tuning_job_id/examples',
    { schema: routeSchema('post', '/v1/fine_tuning/jobs/{fine_tuning_job_id}/examples'), onRequest },
    async (request) => {
      const { examples } = request.body as { examples: object[] };
      const jsonl = examples.map((e) => JSON.stringify(e)).join('\n');
      const { added } = rethrow(() => {
        try {
          return jobs.addExamples(jobParam(request.params), jsonl);
        } catch (err) {
          // Line n of the JSONL made here is examples[n - 1].
          if (err instanceof JobRequestError && err.code === 'invalid_training_file') throw badRequest(err.message, 'examples', 'invalid_examples');
          throw err;
        }
      });
      request.log.info({ job: jobParam(request.params), added }, 'examples added to a continual job');
      return { object: 'fine_tuning.job.examples' as const, added };
    },
  );

  app.get(
    '/v1/fine_tuning/jobs/:fine_tuning_job_id/loss_curve',
    { schema: routeSchema('get', '/v1/fine_tuning/jobs/{fine_tuning_job_id}/loss_curve'), onRequest },
    async (request, reply) => reply.type('image/svg+xml').send(rethrow(() => jobs.lossCurve(jobParam(request.params)))),
  );
}
