import type Database from 'better-sqlite3';
import type { ResolvedHyperparameters } from './fine-tuning-spec.ts';

/** What an OpenAI-shaped job reports that the finetune registry does not keep: names as the client gave them. */
export interface FineTuningRecord {
  jobId: string;
  /** The model the request named. */
  model: string;
  /** The training file's id. */
  trainingFile: string;
  hyperparameters: ResolvedHyperparameters;
}

/** The requests behind fine-tuning jobs, one row per job, in the server's SQLite database. */
export class FineTuningRecords {
  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS fine_tuning_requests (
      job_id TEXT PRIMARY KEY, model TEXT NOT NULL, training_file TEXT NOT NULL, hyperparameters TEXT NOT NULL)`);
  }

  add(record: FineTuningRecord): void {
    this.db
      .prepare('INSERT INTO fine_tuning_requests (job_id, model, training_file, hyperparameters) VALUES (?, ?, ?, ?)')
      .run(record.jobId, record.model, record.trainingFile, JSON.stringify(record.hyperparameters));
  }

  get(jobId: string): FineTuningRecord | undefined {
    const row = this.db.prepare('SELECT * FROM fine_tuning_requests WHERE job_id = ?').get(jobId) as
      | { job_id: string; model: string; training_file: string; hyperparameters: string }
      | undefined;
    return row && { jobId: row.job_id, model: row.model, trainingFile: row.training_file, hyperparameters: JSON.parse(row.hyperparameters) as ResolvedHyperparameters };
  }
}
