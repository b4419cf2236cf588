import { EngineError, type Engine, type ModelRef } from '../engine/engine-api.ts';
import { VersionError, type Alias, type ModelVersion, type VersionStore } from './version-store.ts';

/** A name a client may call, as /v1/models lists it. */
export interface ServedName {
  id: string;
  /** Unix seconds. */
  created: number;
  /** OpenAI's field: the base models are the server's, finetuned versions the user's. */
  ownedBy: string;
  /** For an adapter: the version it is served over (vLLM's `parent` field for LoRA modules). */
  parent?: string;
}

/**
 * Model names as the server serves them: the version store's versions and aliases, over the engine
 * that loads them. Activation loads the version completely before the alias moves, so no request
 * reaching the alias waits on a load or meets a version that does not load; requests in flight on
 * the old target finish on its weights.
 */
export class ModelCatalog {
  private swaps: Promise<unknown> = Promise.resolve();

  constructor(
    readonly store: VersionStore,
    private readonly engine: Engine,
  ) {}

  /**
   * The version a request's model name reaches now, as the engine loads it; undefined for an unknown
   * name, and for an adapter whose base is not a registered version (nothing to load it over).
   */
  resolve(name: string): { version: ModelVersion; ref: ModelRef } | undefined {
    const version = this.store.resolve(name);
    const ref = version && this.refOf(version);
    return ref && { version, ref };
  }

  /** How the engine loads a version: itself, or an adapter over its base's weights (undefined: no base). */
  private refOf(version: ModelVersion): ModelRef | undefined {
    if (version.kind !== 'adapter') return { id: version.id, dir: version.modelDir };
    const base = version.baseVersion === null ? undefined : this.store.get(version.baseVersion);
    return base && { id: base.id, dir: base.modelDir, adapter: { id: version.id, dir: version.modelDir } };
  }

  /** The ref to load, or a VersionError naming the missing base. */
  private loadableRef(version: ModelVersion): ModelRef {
    const ref = this.refOf(version);
    if (!ref) throw new VersionError('load_failed', `Adapter '${version.id}' has no registered base version to be served over`);
    return ref;
  }

  /**
   * The model directory a finetune job on `name` starts from: the version's own, or for an adapter its
   * base's (a new LoRA job trains a new adapter on that base; adapters do not stack).
   */
  trainableDir(name: string): string | undefined {
    const found = this.resolve(name);
    if (!found) return undefined;
    return found.ref.adapter ? found.ref.dir : found.version.modelDir;
  }

  /** What a client can call by name: every alias, then every finetuned version and adapter (with its base as parent). */
  servedNames(): ServedName[] {
    const versions = this.store.list();
    const aliasCreated = (a: Alias) => versions.find((v) => v.id === a.versionId)?.createdAt ?? 0;
    return [
      ...this.store.aliases().map((a) => ({ id: a.name, created: aliasCreated(a), ownedBy: 'flan-serve' })),
      ...versions
        .filter((v) => v.kind !== 'base')
        .map((v) => ({ id: v.id, created: v.createdAt, ownedBy: 'user', ...(v.baseVersion ? { parent: v.baseVersion } : {}) })),
    ];
  }

  /** Loads a base model and registers it (and its alias, the first time) under its served name. */
  async addBase(name: string, modelDir: string, createdAt?: number): Promise<ModelVersion> {
    const version = this.store.registerBase(name, modelDir, createdAt);
    const target = this.store.resolve(name)!;
    await this.engine.load(this.loadableRef(target));
    return version;
  }

  /** Points the version's alias at it, once its weights are loaded. */
  activate(versionId: string): Promise<Alias> {
    return this.serialized(async () => {
      const version = this.store.get(versionId);
      if (!version) throw new VersionError('unknown_version', `No model version '${versionId}'`);
      await this.load(version);
      return this.store.activate(versionId);
    });
  }

  /** Points an alias (the only one when there is one) back at its previous version. */
  rollback(aliasName?: string): Promise<Alias> {
    return this.serialized(async () => {
      const name = aliasName ?? this.onlyAlias();
      const previous = this.store.alias(name)?.history.at(-1);
      const version = previous === undefined ? undefined : this.store.get(previous);
      if (version) await this.load(version);
      return this.store.rollback(name);
    });
  }

  /** Deletes a finetuned version and unloads it once its requests finish. */
  async remove(id: string): Promise<ModelVersion> {
    const version = this.store.remove(id);
    await this.engine.unload(id);
    return version;
  }

  private onlyAlias(): string {
    const aliases = this.store.aliases();
    if (aliases.length !== 1) throw new VersionError('no_alias', `Name the alias to roll back (one of ${aliases.map((a) => a.name).join(', ')})`);
    return aliases[0].name;
  }

  private async load(version: ModelVersion): Promise<void> {
    try {
      await this.engine.load(this.loadableRef(version));
    } catch (err) {
      const reason = err instanceof EngineError ? err.message : String(err);
      throw new VersionError('load_failed', `Model version '${version.id}' failed to load; the current one keeps serving: ${reason}`);
    }
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.swaps.catch(() => undefined).then(work);
    this.swaps = run;
    return run;
  }
}
