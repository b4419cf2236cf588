import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobRegistry } from '../../finetune/jobs/job-registry.ts';

const root = mkdtempSync(join(tmpdir(), 'flan-registry-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the finetune registry', () => {
  it('commits with synchronous = FULL, as its promise that a committed write survives needs', () => {
    const registry = new JobRegistry(join(root, 'a.sqlite'));
    // FULL is 2; NORMAL (1) in WAL mode may lose the last commits on power loss.
    expect((registry as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true })).toBe(2);
    registry.close();
  });

  it('gives a registry written before trained_tokens its column, filled from the metrics events', () => {
    const file = join(root, 'old.sqlite');
    const old = new Database(file);
    old.exec(`CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at INTEGER NOT NULL, started_at INTEGER,
      finished_at INTEGER, spec TEXT NOT NULL, publish INTEGER NOT NULL, suffix TEXT,
      trained_steps INTEGER NOT NULL DEFAULT 0, fine_tuned_model TEXT, error TEXT);
      CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, created_at INTEGER NOT NULL,
      level TEXT NOT NULL, type TEXT NOT NULL, message TEXT NOT NULL, data TEXT);
      INSERT INTO jobs VALUES ('ftjob-1', 'succeeded', 1, 1, 2, '{}', 0, NULL, 2, NULL, NULL);
      INSERT INTO events (job_id, created_at, level, type, message, data) VALUES
        ('ftjob-1', 1, 'info', 'metrics', 'Step 1', '{"tokens": 30}'), ('ftjob-1', 1, 'info', 'metrics', 'Step 2', '{"tokens": 12}'),
        ('ftjob-1', 1, 'info', 'eval', 'held out', '{"tokens": 1000}');`);
    old.close();
    const registry = new JobRegistry(file);
    expect(registry.job('ftjob-1')?.trainedTokens).toBe(42);
    expect(registry.eventsNewestFirst('ftjob-1', { limit: 1, type: 'metrics' })[0].message).toBe('Step 2');
    registry.close();
  });
});
