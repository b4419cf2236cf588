import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { JobManager } from '../finetune/jobs/job-manager.ts';
import type { SessionConfig } from '../runtime/onnx-session.ts';
import { EvalRuns } from './eval-runs.ts';
import { FileStore } from './file-store.ts';
import { FineTuningRecords } from './fine-tuning-records.ts';
import { FinetuneModelRegistry } from './finetune-model-registry.ts';
import { SqliteHistoryStore } from './model-history-store.ts';
import type { FineTuningServices } from './routes/fine-tuning.ts';

export interface LabOptions {
  /** FLAN_DATA_DIR: finetune registry and jobs, uploaded files, server.sqlite (requests, eval runs). */
  dataDir: string;
  /** onnxruntime settings for the versions the registry loads. */
  session?: SessionConfig;
}

/**
 * Everything a server keeps beside serving, under FLAN_DATA_DIR: uploaded files, the finetune job
 * manager (its SQLite registry, child-process training, versions), the model registry that serves
 * those versions by hot-swapping (and remembers which was active across restarts), and eval runs.
 * Pass `models` to buildApp as its registry and the lab itself as `lab`; buildApp closes it with the
 * app. Once the base model is loaded, `await lab.models.serve(engine, base)`.
 */
export class Lab {
  private constructor(
    readonly models: FinetuneModelRegistry,
    readonly jobs: JobManager,
    readonly files: FileStore,
    readonly evals: EvalRuns,
    private readonly records: FineTuningRecords,
    private readonly db: Database.Database,
  ) {}

  static open(options: LabOptions): Lab {
    mkdirSync(options.dataDir, { recursive: true });
    const db = new Database(join(options.dataDir, 'server.sqlite'));
    db.pragma('journal_mode = WAL');
    // A committed write (activation history, eval runs) must survive power loss, not only a crash.
    db.pragma('synchronous = FULL');
    const models = new FinetuneModelRegistry(options.session, new SqliteHistoryStore(db));
    const jobs = JobManager.open({ dataDir: options.dataDir, publisher: models });
    models.readVersionsFrom(() =>
      jobs
        .list({ limit: Number.MAX_SAFE_INTEGER })
        .flatMap((job) => jobs.checkpoints(job.id))
        .sort((a, b) => b.createdAt - a.createdAt),
    );
    const evals = new EvalRuns(db, async () => (await models.list()).activeId);
    return new Lab(models, jobs, new FileStore(join(options.dataDir, 'files')), evals, new FineTuningRecords(db), db);
  }

  fineTuning(): FineTuningServices {
    return { jobs: this.jobs, files: this.files, records: this.records, modelDir: (name) => this.models.modelDir(name) };
  }

  /** Stops eval runs and training processes; running jobs resume from their checkpoints on the next open. */
  async close(): Promise<void> {
    await this.evals.close();
    await this.jobs.close();
    this.db.close();
  }
}
