import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import {
  BenchmarkDataError,
  createScorer,
  EvalUnavailableError,
  PromptUnavailableError,
  runEval,
  type EvalOptions,
  type EvalProgress,
  type EvalResult,
  type Mode,
  type Scoring,
  type ScorerKind,
  type Suite,
  type ToxicityScorer,
} from '../eval/index.ts';

export type EvalRunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** What a run measures; the endpoint and keys are given separately and never stored. */
export interface EvalRunRequest {
  suite: Suite;
  mode: Mode;
  /** RealToxicityPrompts' scorer (its key, if any, travels in EvalTarget). */
  scorer?: { kind: ScorerKind; perspectiveUrl?: string; classifierDir?: string };
  tasks?: string[];
  dataDir?: string;
  limit?: number;
  concurrency: number;
  model: string;
  samples?: number;
  temperature?: number;
  scoring?: Scoring;
}

/** Where a run sends its requests: this server's own address, with the key of whoever started it. */
export interface EvalTarget {
  server: string;
  apiKey?: string;
  perspectiveKey?: string;
}

export interface EvalRun {
  id: string;
  status: EvalRunStatus;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  request: EvalRunRequest;
  /** The registry version that was active when the run started. */
  modelVersion: string | null;
  progress: EvalProgress | null;
  /** The macro average and each task's metrics once the run succeeded (the full result: `result(id)`). */
  summary: Record<string, number> | null;
  metrics: Record<string, Record<string, number>> | null;
  error: { code: string; message: string } | null;
}

interface Row {
  id: string;
  status: EvalRunStatus;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  request: string;
  model_version: string | null;
  progress: string | null;
  summary: string | null;
  metrics: string | null;
  error: string | null;
}

// Runs are read without their per-example records, which can be megabytes; SQLite's JSON functions
// pick the summary and per-task metrics out of the stored result.
const RUN_COLUMNS = `id, status, created_at, started_at, finished_at, request, model_version, progress, error,
  json_extract(result, '$.summary') AS summary,
  CASE WHEN result IS NULL THEN NULL
    ELSE (SELECT json_group_object(key, json_extract(value, '$.metrics')) FROM json_each(result, '$.tasks')) END AS metrics`;

export class EvalRunError extends Error {
  constructor(
    readonly code: 'invalid_eval' | 'eval_not_found' | 'eval_not_cancellable',
    message: string,
  ) {
    super(message);
    this.name = 'EvalRunError';
  }
}

const now = () => Math.floor(Date.now() / 1000);
const PLAN_ONLY = new Error('plan only');

/** The errors runEval raises before its first request: the caller's to fix. */
const isUserError = (err: unknown) => err instanceof BenchmarkDataError || err instanceof PromptUnavailableError || err instanceof EvalUnavailableError;

function optionsFor(request: EvalRunRequest, target: EvalTarget, scorer: ToxicityScorer | undefined): EvalOptions {
  const { dataDir, scorer: _scorerOptions, ...rest } = request;
  const { perspectiveKey: _key, ...endpoint } = target;
  return { ...rest, ...endpoint, dataDir: dataDir ?? '', ...(scorer ? { scorer } : {}) };
}

/** The run's toxicity scorer (rtp only); a bad URL or classifier directory fails here. */
async function scorerFor(request: EvalRunRequest, target: EvalTarget): Promise<ToxicityScorer | undefined> {
  if (!request.scorer) return undefined;
  const { kind, perspectiveUrl, classifierDir } = request.scorer;
  return createScorer({ kind, perspectiveUrl, classifierDir, perspectiveKey: target.perspectiveKey });
}

/**
 * Eval runs as background jobs of the server: queued, run one at a time through eval/'s runEval (its
 * requests bounded by the run's concurrency), cancellable, with progress and results kept in the
 * server's SQLite database. A run that was queued or running when the server stopped is marked failed
 * on the next start, since its requests died with the server.
 */
export class EvalRuns {
  private readonly targets = new Map<string, EvalTarget>();
  private running?: { id: string; controller: AbortController; done: Promise<void> };
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    /** The registry's active version id, recorded with each run. */
    private readonly activeVersion: () => Promise<string | undefined>,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS eval_runs (
      id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,
      request TEXT NOT NULL, model_version TEXT, progress TEXT, result TEXT, error TEXT)`);
    const interrupted = { code: 'interrupted', message: 'The server stopped before the run finished' };
    db.prepare("UPDATE eval_runs SET status = 'failed', finished_at = ?, error = ? WHERE status IN ('queued', 'running')").run(now(), JSON.stringify(interrupted));
  }

  /**
   * Queues a run after checking that its data loads and its prompts can be built (runEval does both
   * before sending anything, so planning it under an aborted signal checks without a request).
   */
  async create(request: EvalRunRequest, target: EvalTarget): Promise<EvalRun> {
    let scorer: ToxicityScorer | undefined;
    try {
      scorer = await scorerFor(request, target);
    } catch (err) {
      throw new EvalRunError('invalid_eval', `The toxicity scorer could not be set up: ${(err as Error).message}`);
    }
    const probe = await runEval(optionsFor(request, target, scorer), { signal: AbortSignal.abort(PLAN_ONLY) })
      .catch((err: unknown) => err)
      .finally(() => scorer?.close?.());
    if (probe !== PLAN_ONLY) {
      if (isUserError(probe)) throw new EvalRunError('invalid_eval', (probe as Error).message);
      throw probe;
    }
    const id = `evalrun-${randomBytes(12).toString('hex')}`;
    this.db.prepare("INSERT INTO eval_runs (id, status, created_at, request) VALUES (?, 'queued', ?, ?)").run(id, now(), JSON.stringify(request));
    this.targets.set(id, target);
    this.startNext();
    return this.get(id);
  }

  get(id: string): EvalRun {
    const row = this.db.prepare(`SELECT ${RUN_COLUMNS} FROM eval_runs WHERE id = ?`).get(id) as Row | undefined;
    if (!row) throw new EvalRunError('eval_not_found', `No eval run ${id}`);
    return toRun(row);
  }

  /** The run with its whole result (every example), or a null result while it has none. */
  result(id: string): { run: EvalRun; result: EvalResult | null } {
    const run = this.get(id);
    const row = this.db.prepare('SELECT result FROM eval_runs WHERE id = ?').get(id) as { result: string | null };
    return { run, result: row.result === null ? null : (JSON.parse(row.result) as EvalResult) };
  }

  /** Newest first; `after` is the last id of the previous page. */
  list(opts: { after?: string; limit: number }): EvalRun[] {
    const anchor = opts.after ? (this.db.prepare('SELECT rowid FROM eval_runs WHERE id = ?').get(opts.after) as { rowid: number } | undefined) : undefined;
    const rows = this.db.prepare(`SELECT ${RUN_COLUMNS} FROM eval_runs WHERE rowid < ? ORDER BY rowid DESC LIMIT ?`).all(anchor?.rowid ?? Number.MAX_SAFE_INTEGER, opts.limit) as Row[];
    return rows.map(toRun);
  }

  cancel(id: string): EvalRun {
    const run = this.get(id);
    if (run.status === 'queued') {
      this.finish(id, 'cancelled');
      this.targets.delete(id);
    } else if (run.status === 'running' && this.running?.id === id) {
      this.running.controller.abort(new Error('cancelled'));
    } else {
      throw new EvalRunError('eval_not_cancellable', `Eval run ${id} has already ${run.status}`);
    }
    return this.get(id);
  }

  /** Resolves once nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.running) await this.running.done;
  }

  /** Aborts the running eval and leaves it, and any queued, for the next start to mark interrupted. */
  async close(): Promise<void> {
    this.closed = true;
    this.running?.controller.abort(new Error('the server is shutting down'));
    await this.running?.done;
  }

  private startNext(): void {
    if (this.running || this.closed) return;
    const next = this.db.prepare(`SELECT ${RUN_COLUMNS} FROM eval_runs WHERE status = 'queued' ORDER BY rowid LIMIT 1`).get() as Row | undefined;
    if (!next) return;
    const target = this.targets.get(next.id);
    this.targets.delete(next.id);
    if (!target) {
      this.finish(next.id, 'failed', { error: { code: 'interrupted', message: 'The server stopped before the run started' } });
      return this.startNext();
    }
    const controller = new AbortController();
    const done = this.execute(toRun(next), target, controller.signal).finally(() => {
      this.running = undefined;
      this.startNext();
    });
    this.running = { id: next.id, controller, done };
  }

  private async execute(run: EvalRun, target: EvalTarget, signal: AbortSignal): Promise<void> {
    const version = (await this.activeVersion()) ?? null;
    this.db.prepare("UPDATE eval_runs SET status = 'running', started_at = ?, model_version = ? WHERE id = ?").run(now(), version, run.id);
    const setProgress = this.db.prepare('UPDATE eval_runs SET progress = ? WHERE id = ?');
    let scorer: ToxicityScorer | undefined;
    try {
      scorer = await scorerFor(run.request, target);
      const result = await runEval(optionsFor(run.request, target, scorer), { signal, onProgress: (p) => setProgress.run(JSON.stringify(p), run.id) });
      this.finish(run.id, 'succeeded', { result });
    } catch (err) {
      if (this.closed) return; // left "running": the next start marks it interrupted
      if (signal.aborted) this.finish(run.id, 'cancelled');
      else this.finish(run.id, 'failed', { error: { code: isUserError(err) ? 'invalid_eval' : 'eval_failed', message: (err as Error).message } });
    } finally {
      await scorer?.close?.();
    }
  }

  private finish(id: string, status: EvalRunStatus, extra: { result?: EvalResult; error?: { code: string; message: string } } = {}): void {
    this.db
      .prepare('UPDATE eval_runs SET status = ?, finished_at = ?, result = ?, error = ? WHERE id = ?')
      .run(status, now(), extra.result ? JSON.stringify(extra.result) : null, extra.error ? JSON.stringify(extra.error) : null, id);
  }
}

function toRun(r: Row): EvalRun {
  const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));
  return {
    id: r.id,
    status: r.status,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    request: JSON.parse(r.request) as EvalRunRequest,
    modelVersion: r.model_version,
    progress: parse<EvalProgress>(r.progress),
    summary: parse<Record<string, number>>(r.summary),
    metrics: parse<Record<string, Record<string, number>>>(r.metrics),
    error: parse<{ code: string; message: string }>(r.error),
  };
}
