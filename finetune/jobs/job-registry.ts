import Database from 'better-sqlite3';
import type { TrainingSpec } from './training-run.ts';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface JobError {
  code: string;
  message: string;
}

export interface FinetuneJob {
  id: string;
  status: JobStatus;
  /** Unix seconds. */
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  spec: TrainingSpec;
  /** Hot-swap the result into serving when the job succeeds. */
  publish: boolean;
  /** Name part of the resulting model id. */
  suffix: string | null;
  /** Optimizer steps completed so far. */
  trainedSteps: number;
  /** Target tokens trained on so far, summed over the steps' metrics. */
  trainedTokens: number;
  /** The model version the job produced. */
  fineTunedModel: string | null;
  error: JobError | null;
}

export interface JobEvent {
  /** Increasing over the whole registry; pages of events are read after one. */
  seq: number;
  jobId: string;
  createdAt: number;
  level: 'info' | 'warn' | 'error';
  type: string;
  message: string;
  data: Record<string, unknown> | null;
}


interface JobRow {
  id: string;
  status: JobStatus;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  spec: string;
  publish: number;
  suffix: string | null;
  trained_steps: number;
  trained_tokens: number;
  fine_tuned_model: string | null;
  error: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at INTEGER NOT NULL, started_at INTEGER,
  finished_at INTEGER, spec TEXT NOT NULL, publish INTEGER NOT NULL, suffix TEXT,
  trained_steps INTEGER NOT NULL DEFAULT 0, fine_tuned_model TEXT, error TEXT);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, created_at INTEGER NOT NULL,
  level TEXT NOT NULL, type TEXT NOT NULL, message TEXT NOT NULL, data TEXT);
CREATE INDEX IF NOT EXISTS events_by_job ON events (job_id, seq);
CREATE INDEX IF NOT EXISTS events_by_job_type ON events (job_id, type, seq);
`;

const now = () => Math.floor(Date.now() / 1000);

/**
 * The finetuning registry in an embedded SQLite database (WAL journal, synchronous = FULL, so each
 * committed write survives a crash or power loss): jobs, their events and the model versions they
 * produced. Synchronous, like better-sqlite3 itself; every call is a few microseconds.
 */
export class JobRegistry {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode may lose the last commits on power loss; a job marked succeeded must stay so.
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.addTrainedTokensColumn();
  }

  /** Registries written before trained_tokens existed: the column, filled once from their events. */
  private addTrainedTokensColumn(): void {
    const columns = this.db.prepare('PRAGMA table_info(jobs)').all() as { name: string }[];
    if (columns.some((c) => c.name === 'trained_tokens')) return;
    this.db.exec(`ALTER TABLE jobs ADD COLUMN trained_tokens INTEGER NOT NULL DEFAULT 0;
      UPDATE jobs SET trained_tokens = (SELECT COALESCE(SUM(json_extract(data, '$.tokens')), 0)
        FROM events WHERE events.job_id = jobs.id AND events.type = 'metrics');`);
  }

  insertJob(job: Pick<FinetuneJob, 'id' | 'spec' | 'publish' | 'suffix'>): FinetuneJob {
    this.db
      .prepare('INSERT INTO jobs (id, status, created_at, spec, publish, suffix) VALUES (?, ?, ?, ?, ?, ?)')
      .run(job.id, 'queued', now(), JSON.stringify(job.spec), job.publish ? 1 : 0, job.suffix);
    return this.job(job.id)!;
  }

  job(id: string): FinetuneJob | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row && toJob(row);
  }

  /** Newest first; `after` is the id of the last job of the previous page. */
  jobs(opts: { after?: string; limit?: number; status?: JobStatus } = {}): FinetuneJob[] {
    const limit = opts.limit ?? 20;
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.status) {
      where.push('status = ?');
      args.push(opts.status);
    }
    if (opts.after) {
      const anchor = this.db.prepare('SELECT rowid FROM jobs WHERE id = ?').get(opts.after) as { rowid: number } | undefined;
      where.push('rowid < ?');
      args.push(anchor?.rowid ?? 0);
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY rowid DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, limit) as JobRow[]).map(toJob);
  }

  /** How many jobs are in each status, every status present (0 when none). */
  countByStatus(): Record<JobStatus, number> {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (const row of this.db.prepare('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status').all() as { status: JobStatus; n: number }[]) {
      counts[row.status] = row.n;
    }
    return counts;
  }

  /** Oldest queued first. */
  queued(): FinetuneJob[] {
    return (this.db.prepare("SELECT * FROM jobs WHERE status = 'queued' ORDER BY rowid").all() as JobRow[]).map(toJob);
  }

  setStatus(id: string, status: JobStatus, extra: { error?: JobError; fineTunedModel?: string } = {}): void {
    const terminal = status === 'succeeded' || status === 'failed' || status === 'cancelled';
    this.db
      .prepare(
        `UPDATE jobs SET status = ?, error = COALESCE(?, error), fine_tuned_model = COALESCE(?, fine_tuned_model),
         started_at = CASE WHEN ? = 'running' AND started_at IS NULL THEN ? ELSE started_at END,
         finished_at = CASE WHEN ? THEN ? ELSE finished_at END WHERE id = ?`,
      )
      .run(status, extra.error ? JSON.stringify(extra.error) : null, extra.fineTunedModel ?? null, status, now(), terminal ? 1 : 0, now(), id);
  }

  /** Records a finished step: the job's step count, and its tokens added to the total. */
  addTrainedStep(id: string, step: number, tokens: number): void {
    this.db.prepare('UPDATE jobs SET trained_steps = ?, trained_tokens = trained_tokens + ? WHERE id = ?').run(step, tokens, id);
  }

  addEvent(e: Omit<JobEvent, 'seq' | 'createdAt'>): JobEvent {
    const createdAt = now();
    const info = this.db
      .prepare('INSERT INTO events (job_id, created_at, level, type, message, data) VALUES (?, ?, ?, ?, ?, ?)')
      .run(e.jobId, createdAt, e.level, e.type, e.message, e.data ? JSON.stringify(e.data) : null);
    return { ...e, seq: Number(info.lastInsertRowid), createdAt };
  }

  /** Oldest first, after sequence number `after`. */
  events(jobId: string, opts: { after?: number; limit?: number; type?: string } = {}): JobEvent[] {
    const rows = this.db
      .prepare(`SELECT * FROM events WHERE job_id = ? AND seq > ? ${opts.type ? 'AND type = ?' : ''} ORDER BY seq LIMIT ?`)
      .all(...[jobId, opts.after ?? 0, ...(opts.type ? [opts.type] : []), opts.limit ?? 1_000_000]) as EventRow[];
    return rows.map(toEvent);
  }

  /** Newest first, older than sequence number `before`: OpenAI's order for a job's events. */
  eventsNewestFirst(jobId: string, opts: { before?: number; limit: number; type?: string }): JobEvent[] {
    const rows = this.db
      .prepare(`SELECT * FROM events WHERE job_id = ? AND seq < ? ${opts.type ? 'AND type = ?' : ''} ORDER BY seq DESC LIMIT ?`)
      .all(...[jobId, opts.before ?? Number.MAX_SAFE_INTEGER, ...(opts.type ? [opts.type] : []), opts.limit]) as EventRow[];
    return rows.map(toEvent);
  }

  close(): void {
    this.db.close();
  }
}

function toJob(r: JobRow): FinetuneJob {
  return {
    id: r.id,
    status: r.status,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    spec: JSON.parse(r.spec) as TrainingSpec,
    publish: r.publish === 1,
    suffix: r.suffix,
    trainedSteps: r.trained_steps,
    trainedTokens: r.trained_tokens,
    fineTunedModel: r.fine_tuned_model,
    error: r.error ? (JSON.parse(r.error) as JobError) : null,
  };
}

interface EventRow {
  seq: number;
  job_id: string;
  created_at: number;
  level: JobEvent['level'];
  type: string;
  message: string;
  data: string | null;
}

function toEvent(r: EventRow): JobEvent {
  return {
    seq: r.seq,
    jobId: r.job_id,
    createdAt: r.created_at,
    level: r.level,
    type: r.type,
    message: r.message,
    data: r.data ? (JSON.parse(r.data) as Record<string, unknown>) : null,
  };
}
