import { statSync } from 'node:fs';
import type { ModelPublisher, PublishedModel } from '../finetune/jobs/job-manager.ts';
import type { ModelVersion } from '../finetune/jobs/job-registry.ts';
import { probeForward } from '../runtime/checkpoint/servable-check.ts';
import { loadServedModel, type T5Engine } from '../runtime/engine/t5-engine.ts';
import type { SessionConfig } from '../runtime/onnx-session.ts';
import { RegistryError, type ModelRegistry, type ModelVersionInfo } from './model-registry.ts';

/** The model the server was started with: the version every finetune descends from. */
export interface BaseModel {
  /** Registry id (the directory's name). */
  id: string;
  /** The name clients use; it keeps reaching the active version after any swap. */
  modelId: string;
  dir: string;
}

/** Where the finetuned versions come from: the finetune registry, read on every call. */
export type VersionSource = () => ModelVersion[];

/** Keeps the activation history across restarts, with the base it was built on. */
export interface HistoryStore {
  load(): { base: string; history: string[] } | undefined;
  save(state: { base: string; history: string[] }): void;
}

/**
 * The server's ModelRegistry over one engine and the finetune registry's model versions: the base
 * model plus every version a job produced. Activating, rolling back and publishing a finished job all
 * load the version's directory completely and then hot-swap it into the engine (T5Engine.swapModel),
 * so requests in flight finish on the weights they began with and a version that fails to load
 * leaves the current one serving. Swaps run one at a time, in the order asked.
 *
 * A finetuned version answers to its own id (`ft:...`) and, like every version, to the base model's
 * name: a client that keeps naming the base model gets each new version from the moment it is
 * swapped in, without a failed request in between.
 */
export class FinetuneModelRegistry implements ModelRegistry, ModelPublisher {
  private engine?: T5Engine;
  private base?: BaseModel & { createdAt: number };
  /** Activation history, most recent last. */
  private readonly history: string[] = [];
  private swaps: Promise<unknown> = Promise.resolve();
  private versions: VersionSource = () => [];

  constructor(
    private readonly session?: SessionConfig,
    private readonly store?: HistoryStore,
  ) {}

  /** The finetune registry's versions, once the job manager exists (it needs this as its publisher). */
  readVersionsFrom(source: VersionSource): void {
    this.versions = source;
  }

  /**
   * Makes the loaded base model the active version (until then nothing is served: 503), then brings
   * back the version that was active when a server on the same base stopped, with its history. If
   * that version no longer loads, the base keeps serving and the failure is returned.
   */
  async serve(engine: T5Engine, base: BaseModel): Promise<RegistryError | undefined> {
    this.engine = engine;
    // When its weights were written, so the listing does not change with each restart.
    this.base = { ...base, createdAt: Math.floor(statSync(base.dir).mtimeMs / 1000) };
    this.history.push(base.id);
    const saved = this.store?.load();
    if (!saved || saved.base !== base.id) return undefined;
    const known = saved.history.filter((id) => this.all().some((v) => v.info.id === id));
    const last = known[known.length - 1];
    if (last === undefined || last === base.id) return undefined;
    return this.serialized(async () => {
      await this.swapTo(this.find(last));
      this.history.splice(0, this.history.length, ...(known[0] === base.id ? known : [base.id, ...known]));
    }).then(
      () => undefined,
      (err: unknown) => (err instanceof RegistryError ? err : Promise.reject(err)),
    );
  }

  active(): T5Engine | undefined {
    return this.engine;
  }

  aliases(): string[] {
    return this.base ? [this.base.modelId] : [];
  }

  async list(): Promise<{ versions: ModelVersionInfo[]; activeId?: string }> {
    return { versions: this.all().map((v) => v.info), activeId: this.history[this.history.length - 1] };
  }

  /** The directory of a version, named by version id or model id; for finetuning from it. */
  modelDir(name: string): string | undefined {
    return this.all().find((v) => v.info.id === name || v.info.modelId === name)?.dir;
  }

  async activate(versionId: string): Promise<ModelVersionInfo> {
    return this.serialized(async () => {
      const version = this.find(versionId);
      if (this.history[this.history.length - 1] !== versionId) {
        await this.swapTo(version);
        this.history.push(versionId);
        this.saveHistory();
      }
      return version.info;
    });
  }

  async rollback(): Promise<ModelVersionInfo> {
    return this.serialized(async () => {
      if (this.history.length < 2) throw new RegistryError('no_previous_version', 'There is no earlier version to roll back to');
      const version = this.find(this.history[this.history.length - 2]);
      await this.swapTo(version);
      this.history.pop();
      this.saveHistory();
      return version.info;
    });
  }

  /** ModelPublisher: a job's finished (or continual) version, registered already, goes live. */
  async publish(published: PublishedModel): Promise<void> {
    await this.serialized(async () => {
      await this.swapTo({ info: { id: published.id, modelId: published.id, createdAt: 0, source: '' }, dir: published.modelDir });
      this.history.push(published.id);
      this.saveHistory();
    });
  }

  async close(graceMs: number): Promise<void> {
    await this.swaps.catch(() => undefined);
    await this.engine?.close(graceMs);
  }

  /** Finetuned versions newest first, then the base model, which every one of them postdates. */
  private all(): { info: ModelVersionInfo; dir: string }[] {
    const finetuned = this.versions().map((v) => ({
      info: {
        id: v.id,
        modelId: v.id,
        createdAt: v.createdAt,
        source: `finetune job ${v.jobId}${v.heldOutLoss === null ? '' : ` (held-out loss ${v.heldOutLoss.toFixed(4)})`}`,
      },
      dir: v.modelDir,
    }));
    if (!this.base) return finetuned;
    const { id, modelId, createdAt, dir } = this.base;
    return [...finetuned, { info: { id, modelId, createdAt, source: dir }, dir }];
  }

  private find(versionId: string): { info: ModelVersionInfo; dir: string } {
    const version = this.all().find((v) => v.info.id === versionId);
    if (!version) throw new RegistryError('unknown_version', `No model version '${versionId}'`);
    return version;
  }

  private async swapTo(version: { info: ModelVersionInfo; dir: string }): Promise<void> {
    if (!this.engine) throw new RegistryError('load_failed', 'No model is loaded yet');
    let next;
    try {
      next = await loadServedModel({ modelDir: version.dir, modelId: version.info.modelId, ...(this.session ? { session: this.session } : {}) });
      await probeForward(next.runner, next.tokens, version.dir);
    } catch (err) {
      throw new RegistryError('load_failed', `Model version '${version.info.id}' failed to load; the current one keeps serving: ${(err as Error).message}`);
    }
    this.engine.swapModel(next);
  }

  private saveHistory(): void {
    if (this.base) this.store?.save({ base: this.base.id, history: this.history });
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.swaps.catch(() => undefined).then(work);
    this.swaps = run;
    return run;
  }
}
