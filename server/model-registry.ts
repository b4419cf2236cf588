import type { Engine } from '../runtime/engine/engine-api.ts';

/** One model version the registry knows: what the admin routes list and activate. */
export interface ModelVersionInfo {
  /** Registry id (a directory name, a finetune job's checkpoint id, ...). */
  id: string;
  /** The model id clients name in requests while this version is active. */
  modelId: string;
  /** Unix seconds. */
  createdAt: number;
  /** Where the weights came from, for people reading the list. */
  source: string;
}

export type RegistryErrorCode = 'unknown_version' | 'no_previous_version' | 'load_failed';

export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

/**
 * What the server needs from whoever owns model versions: the engine to send new requests to, and the
 * admin operations. The finetune module implements it over its on-disk registry (versions promoted by
 * jobs); InMemoryModelRegistry is the one for a server that was given a model directory.
 */
export interface ModelRegistry {
  /** The engine new requests go to; undefined while no version is loaded. Cheap: called per request. */
  active(): Engine | undefined;
  /** Every version, newest first, and the active one's id. */
  list(): Promise<{ versions: ModelVersionInfo[]; activeId?: string }>;
  /**
   * Serves `versionId` to new requests from now on; requests already running finish on the version
   * they started with. Throws RegistryError('unknown_version' | 'load_failed').
   */
  activate(versionId: string): Promise<ModelVersionInfo>;
  /** Re-activates the version that was active before the current one; RegistryError('no_previous_version'). */
  rollback(): Promise<ModelVersionInfo>;
  /**
   * Other names that reach the active engine besides its own modelId: a registry that hot-swaps
   * finetuned versions keeps answering to the base model's name, so clients naming it never fail.
   */
  aliases?(): readonly string[];
  /** Stops all engines: in-flight requests get graceMs to finish, then are cancelled. */
  close(graceMs: number): Promise<void>;
}

interface Entry {
  info: ModelVersionInfo;
  engine: Engine;
}

/** Versions held as loaded engines in memory; activation is a pointer swap, so it cannot fail midway. */
export class InMemoryModelRegistry implements ModelRegistry {
  private readonly entries = new Map<string, Entry>();
  /** Activation history, most recent last; rollback pops it. */
  private readonly history: string[] = [];

  /** Adds a loaded version; the first one added (or any with activate) becomes active. */
  add(info: Omit<ModelVersionInfo, 'modelId' | 'createdAt'> & { createdAt?: number }, engine: Engine, opts: { activate?: boolean } = {}): void {
    if (this.entries.has(info.id)) throw new Error(`model version ${info.id} is already registered`);
    const createdAt = info.createdAt ?? Math.floor(Date.now() / 1000);
    this.entries.set(info.id, { info: { ...info, createdAt, modelId: engine.modelId }, engine });
    if (opts.activate || this.history.length === 0) this.history.push(info.id);
  }

  active(): Engine | undefined {
    const id = this.history[this.history.length - 1];
    return id === undefined ? undefined : this.entries.get(id)?.engine;
  }

  async list() {
    const versions = [...this.entries.values()].map((e) => e.info).sort((a, b) => b.createdAt - a.createdAt);
    return { versions, activeId: this.history[this.history.length - 1] };
  }

  async activate(versionId: string): Promise<ModelVersionInfo> {
    const entry = this.entries.get(versionId);
    if (!entry) throw new RegistryError('unknown_version', `No model version '${versionId}'`);
    if (this.history[this.history.length - 1] !== versionId) this.history.push(versionId);
    return entry.info;
  }

  async rollback(): Promise<ModelVersionInfo> {
    if (this.history.length < 2) throw new RegistryError('no_previous_version', 'There is no earlier version to roll back to');
    this.history.pop();
    return this.entries.get(this.history[this.history.length - 1])!.info;
  }

  async close(graceMs: number): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.engine.close(graceMs)));
  }
}
