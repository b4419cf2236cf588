import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../runtime/engine/engine-api.ts';
import { ModelCatalog } from '../../runtime/versions/model-catalog.ts';
import { VersionStore } from '../../runtime/versions/version-store.ts';

/** A directory that looks like an adapter to the store (it only checks for adapter_config.json). */
function adapterDir(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'adapter_config.json'), '{}');
  return dir;
}

describe('adapter versions in the version store and catalog', () => {
  const root = mkdtempSync(join(tmpdir(), 'flan-adapter-versions-'));

  it('records an adapter over its base, resolves it to base + adapter, lists it with its parent, and guards its base', () => {
    const store = VersionStore.open(join(root, 'a', 'versions.sqlite'));
    const catalog = new ModelCatalog(store, {} as Engine);
    store.registerBase('flan', '/models/flan');
    const full = store.add({ id: 'ft:flan:full:1', parentDir: '/models/flan', modelDir: join(root, 'full'), jobId: '1', heldOutLoss: null });
    const adapter = store.add({ id: 'ft:flan:lora:2', parentDir: '/models/flan', modelDir: adapterDir(root, 'lora'), jobId: '2', heldOutLoss: null });
    expect(full).toMatchObject({ kind: 'finetuned', baseVersion: null });
    expect(adapter).toMatchObject({ kind: 'adapter', baseVersion: 'flan@base', alias: 'flan' });

    expect(catalog.resolve('ft:flan:lora:2')?.ref).toEqual({ id: 'flan@base', dir: '/models/flan', adapter: { id: 'ft:flan:lora:2', dir: join(root, 'lora') } });
    expect(catalog.resolve('ft:flan:full:1')?.ref).toEqual({ id: 'ft:flan:full:1', dir: join(root, 'full') });
    expect(catalog.servedNames().find((n) => n.id === 'ft:flan:lora:2')).toMatchObject({ ownedBy: 'user', parent: 'flan@base' });
    expect(catalog.trainableDir('ft:flan:lora:2')).toBe('/models/flan');

    // An adapter over a finetuned version keeps that version from being deleted under it.
    const nested = store.add({ id: 'ft:flan:lora:3', parentDir: join(root, 'full'), modelDir: adapterDir(root, 'lora-3'), jobId: '3', heldOutLoss: null });
    expect(nested.baseVersion).toBe('ft:flan:full:1');
    expect(() => store.remove('ft:flan:full:1')).toThrow(/base of adapter 'ft:flan:lora:3'/);
    store.remove('ft:flan:lora:3');
    expect(store.remove('ft:flan:full:1').id).toBe('ft:flan:full:1');
    store.close();
  });

  it('opens a store written before adapter versions existed', () => {
    const file = join(root, 'old', 'versions.sqlite');
    mkdirSync(join(root, 'old'));
    const old = new Database(file);
    old.exec(`CREATE TABLE versions (id TEXT PRIMARY KEY, kind TEXT NOT NULL, alias TEXT, model_dir TEXT NOT NULL, job_id TEXT,
      created_at INTEGER NOT NULL, held_out_loss REAL, published INTEGER NOT NULL DEFAULT 0, deleted_at INTEGER)`);
    old.prepare("INSERT INTO versions (id, kind, alias, model_dir, created_at) VALUES ('flan@base', 'base', 'flan', '/models/flan', 1)").run();
    old.close();
    const store = VersionStore.open(file);
    expect(store.get('flan@base')).toMatchObject({ kind: 'base', baseVersion: null });
    expect(store.add({ id: 'ft:a', parentDir: '/models/flan', modelDir: adapterDir(root, 'old-lora'), jobId: null, heldOutLoss: null }).baseVersion).toBe('flan@base');
    store.close();
  });
});
