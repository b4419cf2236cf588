import type Database from 'better-sqlite3';
import type { HistoryStore } from './finetune-model-registry.ts';

/** The model registry's activation history, one row in the server's SQLite database. */
export class SqliteHistoryStore implements HistoryStore {
  constructor(private readonly db: Database.Database) {
    db.exec('CREATE TABLE IF NOT EXISTS model_history (id INTEGER PRIMARY KEY CHECK (id = 1), base TEXT NOT NULL, history TEXT NOT NULL)');
  }

  load(): { base: string; history: string[] } | undefined {
    const row = this.db.prepare('SELECT base, history FROM model_history WHERE id = 1').get() as { base: string; history: string } | undefined;
    return row && { base: row.base, history: JSON.parse(row.history) as string[] };
  }

  save(state: { base: string; history: string[] }): void {
    this.db
      .prepare('INSERT INTO model_history (id, base, history) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET base = excluded.base, history = excluded.history')
      .run(state.base, JSON.stringify(state.history));
  }
}
