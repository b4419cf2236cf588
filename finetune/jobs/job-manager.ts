import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fsyncDirectory } from '../../runtime/checkpoint/atomic-write.ts';
import { intraOpThreads, sessionConfigFromEnv } from '../../runtime/onnx-session.ts';
import { parseInstructionJsonl } from '../data/instruction-example.ts';
import { VersionStore, versionStorePath, type ModelVersion } from '../../runtime/versions/version-store.ts';
import { JobRegistry, type FinetuneJob, type JobEvent, type JobStatus } from './job-registry.ts';
import { lossCurveSvg } from './loss-curve-svg.ts';
import { spawnTrainingWorker, type TrainingWorker } from './spawn-worker.ts';
import { jobPaths, type TrainingEvent, type TrainingSpec } from './training-run.ts';
import type { WorkerMessage } from './training-worker.ts';

/**
 * What the serving side implements so a finished job can be hot-swapped in: load the version (already
 * in the version store) and, if it loads, move its alias to it while in-flight requests finish on the
 * old weights. It must throw (and keep the old version serving) when the version fails to load.
 */
export interface ModelPublisher {
  publish(version: PublishedModel): Promise<void>;
}

export interface PublishedModel {
  /** The model id clients will name, e.g. "ft:flan-t5-small:support:ftjob-abc123". */
  id: string;
  jobId: string;
  modelDir: string;
  heldOutLoss: number | null;
}

export interface CreateJobRequest {
  spec: TrainingSpec;
  /** Hot-swap the finished model into serving (through the ModelPublisher). */
  publish?: boolean;
  suffix?: string;
  /**
   * The caller has checked every line of the training file already and the file cannot change (an
   * upload the server stored): create() then skips reading it again, on the caller's thread.
   */
  trainingFileChecked?: boolean;
}

export class JobRequestError extends Error {
  constructor(
    readonly code: 'invalid_training_file' | 'invalid_request' | 'job_not_found' | 'job_not_cancellable' | 'job_not_running',
    message: string,
  ) {
    super(message);
    this.name = 'JobRequestError';
  }
}

export interface JobManagerOptions {
  /** FLAN_DATA_DIR: the registry lives in <dataDir>/finetune/registry.sqlite, job work in .../jobs/. */
  dataDir: string;
  publisher?: ModelPublisher;
  /** Where succeeded jobs register their versions (default: the store under dataDir). */
  versions?: VersionStore;
  /** Where a succeeded job's weights go (default: under its job directory); shared storage for replicas. */
  versionsDir?: string;
  /** Jobs trained at once (default 1: a training process uses the threads it is given). */
  maxConcurrent?: number;
}

type Listener = (event: JobEvent) => void;

/**
 * Background finetuning: a queue of jobs, each trained in its own child process, with states and
 * events persisted in SQLite. Jobs that were running when the server stopped are queued again on the
 * next start and resume from their last checkpoint. The HTTP routes (OpenAI's fine-tuning API) and
 * the CLI are thin layers over this class.
 */
export class JobManager {
  private readonly workers = new Map<string, TrainingWorker>();
  private readonly cancelling = new Set<string>();
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Per job, the version registrations and publishes in flight, kept in order. */
  private readonly versionChains = new Map<string, Promise<void>>();
  /** Jobs whose worker exited and whose outcome (registration, publish) is being recorded. */
  private readonly finishing = new Set<Promise<void>>();
  private closed = false;

  private constructor(
    private readonly registry: JobRegistry,
    private readonly versions: VersionStore,
    private readonly jobsDir: string,
    private readonly options: JobManagerOptions,
  ) {}

  static open(options: JobManagerOptions): JobManager {
    const root = join(options.dataDir, 'finetune');
    const jobsDir = join(root, 'jobs');
    mkdirSync(jobsDir, { recursive: true });
    const registry = new JobRegistry(join(root, 'registry.sqlite'));
    const versions = options.versions ?? VersionStore.open(versionStorePath(options.dataDir));
    const manager = new JobManager(registry, versions, jobsDir, options);
    for (const job of registry.jobs({ status: 'running', limit: 1_000_000 })) {
      registry.setStatus(job.id, 'queued');
      manager.emit(job.id, 'info', 'requeued', 'The server restarted; the job resumes from its last checkpoint.');
    }
    manager.schedule();
    return manager;
  }

  /**
   * Queues a job. The training file is read and checked here, so bad lines are reported (by line
   * number) to the caller and nothing is queued.
   */
  create(request: CreateJobRequest): FinetuneJob {
    const spec: TrainingSpec = {
      ...request.spec,
      baseModelDir: resolve(request.spec.baseModelDir),
      trainingFile: resolve(request.spec.trainingFile),
      // Fixed when the job is created and stored with it: a resumed run must reduce in the same order.
      threads: request.spec.threads ?? intraOpThreads(sessionConfigFromEnv().threads),
    };
    if (!existsSync(spec.trainingFile)) throw new JobRequestError('invalid_training_file', `training file ${basename(spec.trainingFile)} not found`);
    if (!existsSync(join(spec.baseModelDir, 'config.json'))) throw new JobRequestError('invalid_request', `base model ${spec.baseModelDir} has no config.json`);
    if (!(Number.isInteger(spec.steps) && spec.steps > 0)) throw new JobRequestError('invalid_request', 'steps must be a positive integer');
    if (!request.trainingFileChecked) {
      try {
        parseInstructionJsonl(readFileSync(spec.trainingFile, 'utf8'), basename(spec.trainingFile));
      } catch (err) {
        throw new JobRequestError('invalid_training_file', (err as Error).message);
      }
    }
    const id = `ftjob-${randomBytes(12).toString('hex')}`;
    const job = this.registry.insertJob({ id, spec, publish: request.publish ?? false, suffix: request.suffix ?? null });
    this.emit(id, 'info', 'created', `Job created: ${spec.steps} steps of ${spec.method.kind} finetuning.`);
    this.schedule();
    return this.registry.job(id) ?? job;
  }

  get(id: string): FinetuneJob {
    const job = this.registry.job(id);
    if (!job) throw new JobRequestError('job_not_found', `no fine-tuning job ${id}`);
    return job;
  }

  list(opts: { after?: string; limit?: number } = {}): FinetuneJob[] {
    return this.registry.jobs(opts);
  }

  countByStatus(): Record<JobStatus, number> {
    return this.registry.countByStatus();
  }

  /** The training files of queued and running jobs: they must stay until those jobs end. */
  trainingFilesInUse(): Set<string> {
    const active = [...this.registry.queued(), ...this.registry.jobs({ status: 'running', limit: 1_000_000 })];
    return new Set(active.map((job) => job.spec.trainingFile));
  }

  events(id: string, opts: { after?: number; limit?: number } = {}): JobEvent[] {
    this.get(id);
    return this.registry.events(id, opts);
  }

  /** Newest first, older than event `before` (OpenAI's order); `type` picks one kind, e.g. the last 'metrics'. */
  eventsNewestFirst(id: string, opts: { before?: number; limit: number; type?: string }): JobEvent[] {
    this.get(id);
    return this.registry.eventsNewestFirst(id, opts);
  }

  /** Model versions the job produced (one per successful run), newest first. */
  checkpoints(id: string): ModelVersion[] {
    this.get(id);
    return this.versions.byJob(id);
  }

  /** Live events of one job; returns the unsubscribe function. */
  subscribe(id: string, listener: Listener): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  cancel(id: string): FinetuneJob {
    const job = this.get(id);
    if (job.status === 'queued') {
      this.registry.setStatus(id, 'cancelled');
      this.emit(id, 'info', 'cancelled', 'Job cancelled before it started.');
    } else if (job.status === 'running') {
      this.cancelling.add(id);
      this.workers.get(id)?.child.kill('SIGTERM');
    } else {
      throw new JobRequestError('job_not_cancellable', `job ${id} has already ${job.status}`);
    }
    return this.get(id);
  }

  /**
   * Appends instruction examples (JSONL) to a continual job; it starts training on them at its next
   * publish boundary. Lines are checked first, so bad ones are rejected with their numbers.
   */
  addExamples(id: string, jsonl: string): { added: number } {
    const job = this.get(id);
    if (!job.spec.continual) throw new JobRequestError('invalid_request', `job ${id} is not a continual job`);
    if (job.status !== 'queued' && job.status !== 'running') throw new JobRequestError('job_not_running', `job ${id} has already ${job.status}`);
    let examples;
    try {
      examples = parseInstructionJsonl(jsonl, 'examples');
    } catch (err) {
      throw new JobRequestError('invalid_training_file', (err as Error).message);
    }
    const workDir = join(this.jobsDir, id);
    mkdirSync(workDir, { recursive: true });
    // One line per example and a newline after each: the worker counts only complete lines.
    const lines = jsonl.split('\n').filter((l) => l.trim() !== '');
    appendFileSync(jobPaths(workDir).addedExamples, `${lines.join('\n')}\n`, { flush: true });
    this.emit(id, 'info', 'examples_received', `${examples.length} examples received; training uses them from the next publish boundary.`, { count: examples.length });
    return { added: examples.length };
  }

  /** The job's training (and held-out) loss per step as an SVG image. */
  lossCurve(id: string): string {
    const events = this.events(id);
    const point = (e: JobEvent, key: string) => ({ step: Number(e.data?.step), loss: Number(e.data?.[key]) });
    return lossCurveSvg(
      events.filter((e) => e.type === 'metrics').map((e) => point(e, 'loss')),
      events.filter((e) => e.type === 'eval').map((e) => point(e, 'held_out_loss')),
      `${id} loss`,
    );
  }

  /** Resolves when no job is running or queued (for tests and graceful shutdown). */
  async idle(): Promise<void> {
    while (this.workers.size > 0 || this.finishing.size > 0 || this.registry.queued().length > 0) {
      await Promise.all([...this.workers.values()].map((w) => w.exited));
      await Promise.all(this.finishing);
      await new Promise((r) => setImmediate(r));
    }
  }

  /**
   * Stops the running workers without changing their jobs' state: they stay "running" in the registry
   * and resume from their checkpoints when a manager opens it again (a server restart).
   */
  async close(): Promise<void> {
    this.closed = true;
    const exits = [...this.workers.values()].map((w) => {
      w.child.kill('SIGKILL');
      return w.exited;
    });
    await Promise.all(exits);
    this.registry.close();
    if (!this.options.versions) this.versions.close();
  }

  private schedule(): void {
    if (this.closed) return;
    const max = this.options.maxConcurrent ?? 1;
    for (const job of this.registry.queued()) {
      if (this.workers.size >= max) break;
      this.start(job);
    }
  }

  private start(job: FinetuneJob): void {
    const workDir = join(this.jobsDir, job.id);
    let result: { modelDir: string; heldOutLoss: number | null } | undefined;
    let failure: { message: string; code: string } | undefined;
    this.registry.setStatus(job.id, 'running');
    const worker = spawnTrainingWorker(job.spec, workDir, (m: WorkerMessage) => {
      if (m.type === 'event') this.onTrainingEvent(job.id, m.event);
      else if (m.type === 'done') result = m.result;
      else failure = { message: m.message, code: m.code };
    });
    this.workers.set(job.id, worker);
    const finished = worker.exited.then(async ({ code, signal }) => {
      if (this.closed) {
        this.workers.delete(job.id);
        return;
      }
      this.finishing.add(finished);
      this.workers.delete(job.id);
      if (this.cancelling.delete(job.id)) {
        this.registry.setStatus(job.id, 'cancelled');
        this.emit(job.id, 'info', 'cancelled', 'Job cancelled.');
      } else if (result) {
        try {
          await this.succeed(job, result);
        } catch (err) {
          const error = { code: 'registration_failed', message: `the trained model could not be registered: ${(err as Error).message}` };
          this.registry.setStatus(job.id, 'failed', { error });
          this.emit(job.id, 'error', 'failed', error.message);
        }
      } else if (!failure && this.mayRestart(job.id, workDir)) {
        this.registry.setStatus(job.id, 'queued');
        this.emit(job.id, 'warn', 'restarted', `The training process died (${signal ?? `code ${code}`}); the job resumes from its last checkpoint, once.`);
      } else {
        const error = failure ?? { code: 'training_error', message: `the training process exited (${signal ?? `code ${code}`})` };
        this.registry.setStatus(job.id, 'failed', { error });
        this.emit(job.id, 'error', 'failed', error.message);
      }
      this.finishing.delete(finished);
      this.schedule();
    });
  }

  /**
   * A process that died without reporting an error (killed, out of memory) is restarted from its
   * checkpoint once per job; a second death fails the job, so that a job that kills its process every
   * time does not loop.
   */
  private mayRestart(jobId: string, workDir: string): boolean {
    return existsSync(jobPaths(workDir).checkpoint) && this.registry.eventsNewestFirst(jobId, { type: 'restarted', limit: 1 }).length === 0;
  }

  /** The pid of the process training a job now, for operators (and tests) that need to find it. */
  trainingPid(jobId: string): number | undefined {
    return this.workers.get(jobId)?.child.pid;
  }

  private async succeed(job: FinetuneJob, result: { modelDir: string; heldOutLoss: number | null }): Promise<void> {
    await this.versionChains.get(job.id);
    const base = basename(job.spec.baseModelDir);
    const id = `ft:${base}:${job.suffix ?? 'custom'}:${job.id}`;
    const best = Math.min(...this.versions.byJob(job.id).map((v) => v.heldOutLoss ?? Number.POSITIVE_INFINITY));
    if (job.spec.continual && result.heldOutLoss !== null && result.heldOutLoss > best) {
      this.registry.setStatus(job.id, 'succeeded', { fineTunedModel: this.versions.byJob(job.id)[0]?.id });
      this.emit(job.id, 'info', 'succeeded', `Job succeeded; the final weights (held-out loss ${result.heldOutLoss.toFixed(4)}) were not better than version ${this.versions.byJob(job.id)[0]?.id} and were not promoted.`);
      return;
    }
    // Each version keeps its own directory, so a later job never overwrites weights being served; it
    // goes beside the version store when replicas share one, so that every replica can load it.
    const modelDir = join(this.options.versionsDir ?? join(this.jobsDir, job.id, 'versions'), id.replace(/[^A-Za-z0-9._-]/g, '_'));
    mkdirSync(join(modelDir, '..'), { recursive: true });
    moveDirectory(result.modelDir, modelDir);
    fsyncDirectory(dirname(modelDir));
    this.versions.add({ id, parentDir: job.spec.baseModelDir, jobId: job.id, modelDir, heldOutLoss: result.heldOutLoss });
    this.registry.setStatus(job.id, 'succeeded', { fineTunedModel: id });
    this.emit(job.id, 'info', 'succeeded', `Job succeeded: model ${id}.`, { model: id, model_dir: modelDir, held_out_loss: result.heldOutLoss });
    await this.publish(job, { id, jobId: job.id, modelDir, heldOutLoss: result.heldOutLoss });
  }

  /** A continual job's intermediate version: registered, and hot-swapped in when the job asked. */
  private async registerStepVersion(job: FinetuneJob, step: number, modelDir: string, heldOutLoss: number | null): Promise<void> {
    const id = `ft:${basename(job.spec.baseModelDir)}:${job.suffix ?? 'custom'}:${job.id}:step-${step}`;
    this.versions.add({ id, parentDir: job.spec.baseModelDir, jobId: job.id, modelDir, heldOutLoss });
    this.emit(job.id, 'info', 'version', `Step ${step}: version ${id} (held-out loss ${heldOutLoss?.toFixed(4) ?? 'n/a'}).`, { step, model: id, held_out_loss: heldOutLoss });
    await this.publish(job, { id, jobId: job.id, modelDir, heldOutLoss });
  }

  private async publish(job: FinetuneJob, version: PublishedModel): Promise<void> {
    if (!job.publish || !this.options.publisher) return;
    try {
      await this.options.publisher.publish(version);
      this.versions.markPublished(version.id);
      this.emit(job.id, 'info', 'published', `Model ${version.id} is now serving.`, { model: version.id });
    } catch (err) {
      this.emit(job.id, 'error', 'publish_failed', `Model ${version.id} could not be loaded for serving; the previous version keeps serving: ${(err as Error).message}`, { model: version.id });
    }
  }

  private onTrainingEvent(jobId: string, e: TrainingEvent): void {
    switch (e.type) {
      case 'started':
        this.emit(jobId, 'info', 'started', e.resumed ? `Resumed at step ${e.step} of ${e.totalSteps}.` : `Training started: ${e.trainExamples} examples, ${e.heldOutExamples} held out.`, { step: e.step, total_steps: e.totalSteps });
        if (e.kernelsChanged) {
          this.emit(jobId, 'warn', 'kernels_changed', "Resumed on a CPU whose kernels round differently from the checkpoint's (another machine class): the job finishes, but its weights will not match an unbroken run's bit for bit.", { step: e.step });
        }
        break;
      case 'step':
        this.registry.addTrainedStep(jobId, e.step, e.tokens);
        this.emit(jobId, 'info', 'metrics', `Step ${e.step}: training loss=${e.loss.toFixed(4)}`, {
          step: e.step,
          loss: e.loss,
          learning_rate: e.lr,
          grad_norm: e.gradNorm,
          tokens: e.tokens,
          tokens_per_second: e.tokensPerSecond,
          eta_seconds: e.etaSeconds,
        });
        break;
      case 'eval':
        this.emit(jobId, 'info', 'eval', `Step ${e.step}: held-out loss=${e.heldOutLoss.toFixed(4)}`, { step: e.step, held_out_loss: e.heldOutLoss });
        break;
      case 'examples':
        this.emit(jobId, 'info', 'examples_added', `Step ${e.step}: training now includes ${e.added} added examples (${e.trainExamples} in all).`, { step: e.step, added: e.added });
        break;
      case 'version_rejected':
        this.emit(jobId, 'info', 'version_rejected', `Step ${e.step}: held-out loss ${e.heldOutLoss.toFixed(4)} is worse than ${e.bestHeldOutLoss.toFixed(4)}; not published.`, { step: e.step, held_out_loss: e.heldOutLoss });
        break;
      case 'version': {
        const job = this.get(jobId);
        const chain = (this.versionChains.get(jobId) ?? Promise.resolve()).then(() => this.registerStepVersion(job, e.step, e.modelDir, e.heldOutLoss));
        this.versionChains.set(jobId, chain);
        break;
      }
      case 'checkpoint':
      case 'completed':
        break; // checkpoints are internal; completion is reported once the version is registered
    }
  }

  private emit(jobId: string, level: JobEvent['level'], type: string, message: string, data: Record<string, unknown> | null = null): void {
    const event = this.registry.addEvent({ jobId, level, type, message, data });
    for (const l of this.listeners.get(jobId) ?? []) l(event);
  }
}

export type { FinetuneJob, JobEvent, JobStatus, ModelVersion };

/** rename, or copy then remove when the target is on another file system (a shared volume). */
function moveDirectory(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const staging = `${to}.partial`;
    cpSync(from, staging, { recursive: true });
    renameSync(staging, to);
    rmSync(from, { recursive: true, force: true });
  }
}
