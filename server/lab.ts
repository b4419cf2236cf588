import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { JobManager } from '../finetune/jobs/job-manager.ts';
import type { ModelCatalog } from '../runtime/versions/model-catalog.ts';
import { EvalRuns } from './eval-runs.ts';
import { FileStore } from './file-store.ts';
import { FineTuningRecords } from './fine-tuning-records.ts';
import type { FineTuningServices } from './routes/fine-tuning.ts';

export interface LabOptions {
  /** FLAN_DATA_DIR: finetune registry and jobs, uploaded files, server.sqlite (requests, eval runs). */
  dataDir: string;
  /** The served models: jobs register their versions in its store and publish through it. */
  catalog: ModelCatalog;
  /** Where finished versions' weights go (beside a shared store, so every replica can load them). */
  versionsDir?: string;
}

/**
 * Everything a server keeps beside serving, under FLAN_DATA_DIR: uploaded files, the finetune job
 * manager (its SQLite registry, child-process training; versions go to the catalog's store, and a
 * job that asked for it has its version activated) and eval runs. Pass it to buildApp as `lab`;
 * buildApp closes it with the app.
 */
export class Lab {
  private constructor(
    readonly jobs: JobManager,
    readonly files: FileStore,
    readonly evals: EvalRuns,
    private readonly records: FineTuningRecords,
    private readonly catalog: ModelCatalog,
    private readonly db: Database.Database,
  ) {}

  static open(options: LabOptions): Lab {
    mkdirSync(options.dataDir, { recursive: true });
    const db = new Database(join(options.dataDir, 'server.sqlite'));
    db.pragma('journal_mode = WAL');
    // A committed write (eval runs, job requests) must survive power loss, not only a crash.
    db.pragma('synchronous = FULL');
    const { catalog } = options;
    const jobs = JobManager.open({
      dataDir: options.dataDir,
      versions: catalog.store,
      ...(options.versionsDir ? { versionsDir: options.versionsDir } : {}),
      publisher: { publish: async (version) => void (await catalog.activate(version.id)) },
    });
    // The version an eval run measured: what the first alias served when it started.
    const evals = new EvalRuns(db, async () => catalog.store.aliases()[0]?.versionId);
    return new Lab(jobs, new FileStore(join(options.dataDir, 'files')), evals, new FineTuningRecords(db), catalog, db);
  }

  fineTuning(): FineTuningServices {
    return { jobs: this.jobs, files: this.files, records: this.records, modelDir: (name) => this.catalog.trainableDir(name) };
  }

  /** Stops eval runs and training processes; running jobs resume from their checkpoints on the next open. */
  async close(): Promise<void> {
    await this.evals.close();
    await this.jobs.close();
    this.db.close();
  }
}
