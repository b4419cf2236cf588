import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isAdapterDir } from '../checkpoint/lora-adapter.ts';

/** A model version: a directory of weights that can be served by its id. */
export interface ModelVersion {
  id: string;
  /**
   * A base checkpoint the server was started with, a whole model a finetune job produced, or a LoRA
   * adapter a job produced (its directory holds only the adapter; it is served over baseVersion).
   */
  kind: VersionKind;
  /** The alias (the base model's served name) that activating this version moves; null if none. */
  alias: string | null;
  modelDir: string;
  jobId: string | null;
  /** Unix seconds. */
  createdAt: number;
  heldOutLoss: number | null;
  /** Whether its job hot-swapped it in when it was made. */
  published: boolean;
  /** For an adapter: the version whose weights it is loaded over. */
  baseVersion: string | null;
}

export type VersionKind = 'base' | 'finetuned' | 'adapter';

/** A served name that points at one version; activate and rollback move it. */
export interface Alias {
  name: string;
  versionId: string;
  /** Earlier targets, oldest first; rollback returns to the last. */
  history: string[];
}

export type VersionErrorCode = 'unknown_version' | 'no_previous_version' | 'load_failed' | 'version_in_use' | 'no_alias';

export class VersionError extends Error {
  constructor(
    readonly code: VersionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'VersionError';
  }
}

interface VersionRow {
  id: string;
  kind: VersionKind;
  alias: string | null;
  model_dir: string;
  job_id: string | null;
  created_at: number;
  held_out_loss: number | null;
  published: number;
  base_version: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS versions (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, alias TEXT, model_dir TEXT NOT NULL, job_id TEXT,
  created_at INTEGER NOT NULL, held_out_loss REAL, published INTEGER NOT NULL DEFAULT 0, deleted_at INTEGER,
  base_version TEXT);
CREATE INDEX IF NOT EXISTS versions_by_job ON versions (job_id);
CREATE TABLE IF NOT EXISTS aliases (name TEXT PRIMARY KEY, version_id TEXT NOT NULL, history TEXT NOT NULL);
`;

const now = () => Math.floor(Date.now() / 1000);

/** The version id of a base model served as `name`: its alias starts there. */
export const baseVersionId = (name: string) => `${name}@base`;

/**
 * Where the store lives in its directory: FLAN_STORE_DIR, which replicas share, or else FLAN_DATA_DIR.
 * A file of its own rather than the job registry's: jobs stay with the replica that runs them.
 */
export const versionStorePath = (storeDir: string) => join(storeDir, 'versions.sqlite');

/**
 * Model versions and aliases, one SQLite database that the serving replicas, the finetune jobs and
 * the admin routes share: a version written here by any process is servable by name in every replica
 * that reads it, and an alias moved here is followed by all of them on their next request.
 */
export class VersionStore {
  private readonly db: Database.Database;
  /** Prepared once per SQL text: every request resolves its model name here, and preparing cost more than running. */
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // A version or an activation that was acknowledged must survive a crash of the machine.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    // Stores made before adapter versions existed lack the column.
    const columns = this.db.prepare('PRAGMA table_info(versions)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'base_version')) this.db.exec('ALTER TABLE versions ADD COLUMN base_version TEXT');
  }

  static open(file: string): VersionStore {
    return new VersionStore(file);
  }

  /**
   * Registers a base checkpoint served as `name` (again at every start): its version, and its alias
   * pointing at it unless the alias exists already (then it keeps the version activated before).
   */
  registerBase(name: string, modelDir: string, createdAt = now()): ModelVersion {
    const id = baseVersionId(name);
    this.db.transaction(() => {
      this
        .statement(
          `INSERT INTO versions (id, kind, alias, model_dir, created_at) VALUES (?, 'base', ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET model_dir = excluded.model_dir, deleted_at = NULL`,
        )
        .run(id, name, modelDir, createdAt);
      const alias = this.alias(name);
      if (!alias || !this.get(alias.versionId)) this.writeAlias({ name, versionId: id, history: [] });
    })();
    return this.get(id)!;
  }

  /**
   * Adds a finetuned version; it descends from the version whose directory is `parentDir`. A directory
   * holding a LoRA adapter makes an adapter version served over that parent (it serves only while the
   * parent is a registered version).
   */
  add(v: { id: string; parentDir: string; modelDir: string; jobId: string | null; heldOutLoss: number | null }): ModelVersion {
    const parent = this.row('SELECT * FROM versions WHERE model_dir = ? AND deleted_at IS NULL', v.parentDir);
    const adapter = isAdapterDir(v.modelDir);
    this
      .statement('INSERT INTO versions (id, kind, alias, model_dir, job_id, created_at, held_out_loss, base_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(v.id, adapter ? 'adapter' : 'finetuned', parent?.alias ?? null, v.modelDir, v.jobId, now(), v.heldOutLoss, adapter ? (parent?.id ?? null) : null);
    return this.get(v.id)!;
  }

  markPublished(id: string): void {
    this.statement('UPDATE versions SET published = 1 WHERE id = ?').run(id);
  }

  get(id: string): ModelVersion | undefined {
    const row = this.row('SELECT * FROM versions WHERE id = ? AND deleted_at IS NULL', id);
    return row && toVersion(row);
  }

  /** Every live version, newest first (bases last among equals). */
  list(): ModelVersion[] {
    return this.rows("SELECT * FROM versions WHERE deleted_at IS NULL ORDER BY created_at DESC, kind = 'base', rowid DESC");
  }

  /** A job's versions, newest first. */
  byJob(jobId: string): ModelVersion[] {
    return this.rows('SELECT * FROM versions WHERE job_id = ? AND deleted_at IS NULL ORDER BY rowid DESC', jobId);
  }

  /** The version a client's model name reaches: an alias's target, else the version of that id. */
  resolve(name: string): ModelVersion | undefined {
    const alias = this.alias(name);
    return (alias && this.get(alias.versionId)) ?? this.get(name);
  }

  alias(name: string): Alias | undefined {
    const row = this.statement('SELECT name, version_id, history FROM aliases WHERE name = ?').get(name) as
      | { name: string; version_id: string; history: string }
      | undefined;
    return row && { name: row.name, versionId: row.version_id, history: JSON.parse(row.history) as string[] };
  }

  aliases(): Alias[] {
    const rows = this.statement('SELECT name FROM aliases ORDER BY name').all() as { name: string }[];
    return rows.map((r) => this.alias(r.name)!);
  }

  /** Points the version's alias at it; returns the alias as it now is. */
  activate(versionId: string): Alias {
    return this.db.transaction(() => {
      const version = this.require(versionId);
      const alias = this.aliasOf(version);
      if (alias.versionId === versionId) return alias;
      const next = { name: alias.name, versionId, history: [...alias.history, alias.versionId] };
      this.writeAlias(next);
      return next;
    })();
  }

  /** Points the alias back at the version it named before the last activation. */
  rollback(name: string): Alias {
    return this.db.transaction(() => {
      const alias = this.alias(name);
      if (!alias) throw new VersionError('no_alias', `No model alias '${name}'`);
      const history = alias.history.filter((id) => this.get(id));
      const previous = history.pop();
      if (previous === undefined) throw new VersionError('no_previous_version', `Alias '${name}' has no earlier version to roll back to`);
      const next = { name, versionId: previous, history };
      this.writeAlias(next);
      return next;
    })();
  }

  /**
   * Deletes a finetuned or adapter version (its files stay; the name stops answering). Refused while an
   * alias serves it, and for a version that live adapters are served over.
   */
  remove(id: string): ModelVersion {
    return this.db.transaction(() => {
      const version = this.require(id);
      if (version.kind === 'base') throw new VersionError('version_in_use', `Model '${id}' is a base model; it cannot be deleted`);
      const serving = this.aliases().find((a) => a.versionId === id);
      if (serving) throw new VersionError('version_in_use', `Model '${id}' is what '${serving.name}' serves; activate another version or roll back first`);
      const over = this.rows('SELECT * FROM versions WHERE base_version = ? AND deleted_at IS NULL', id);
      if (over.length) throw new VersionError('version_in_use', `Model '${id}' is the base of adapter ${over.map((a) => `'${a.id}'`).join(', ')}; delete those first`);
      this.statement('UPDATE versions SET deleted_at = ? WHERE id = ?').run(now(), id);
      return version;
    })();
  }

  close(): void {
    this.db.close();
  }

  private aliasOf(version: ModelVersion): Alias {
    const alias = version.alias === null ? undefined : this.alias(version.alias);
    if (!alias) throw new VersionError('no_alias', `Model version '${version.id}' has no served name to activate it under`);
    return alias;
  }

  private require(id: string): ModelVersion {
    const version = this.get(id);
    if (!version) throw new VersionError('unknown_version', `No model version '${id}'`);
    return version;
  }

  private writeAlias(alias: Alias): void {
    this
      .statement('INSERT INTO aliases (name, version_id, history) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET version_id = excluded.version_id, history = excluded.history')
      .run(alias.name, alias.versionId, JSON.stringify(alias.history));
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  private row(sql: string, ...params: unknown[]): VersionRow | undefined {
    return this.statement(sql).get(...params) as VersionRow | undefined;
  }

  private rows(sql: string, ...params: unknown[]): ModelVersion[] {
    return (this.statement(sql).all(...params) as VersionRow[]).map(toVersion);
  }
}

function toVersion(r: VersionRow): ModelVersion {
  return {
    id: r.id,
    kind: r.kind,
    alias: r.alias,
    modelDir: r.model_dir,
    jobId: r.job_id,
    createdAt: r.created_at,
    heldOutLoss: r.held_out_loss,
    published: r.published === 1,
    baseVersion: r.base_version,
  };
}
