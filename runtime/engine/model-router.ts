import { LRUCache } from 'lru-cache';
import { adapterBytes, readAdapterDir } from '../checkpoint/lora-adapter.ts';
import { loadModelDir } from '../checkpoint/model-dir.ts';
import { ModelLoadError } from '../checkpoint/model-load-error.ts';
import { checkWeightsFinite, probeForward } from '../checkpoint/servable-check.ts';
import type { Tokenizer } from '../checkpoint/tokenizer.ts';
import type { SessionConfig } from '../onnx-session.ts';
import { returnFreedMemory } from '../freed-memory.ts';
import { T5Runner } from '../t5-runner.ts';
import { DecodeScheduler, type SchedulerLimits, type TokenIds } from './decode-scheduler.ts';
import { EngineError, type LoadedModelInfo, type ModelRef } from './engine-api.ts';

/** What loading a version yields before the router gives it a scheduler. */
export interface ModelParts {
  runner: T5Runner;
  tokenizer: Tokenizer;
  tokens: TokenIds;
  bytes: number;
}

/**
 * Loads a version's parts; the default reads its directory in the Hugging Face layout. The graphs take
 * per-row adapters on `adapterTargets` (none when empty).
 */
export type ModelLoader = (ref: ModelRef, session: SessionConfig, adapterTargets: readonly string[]) => Promise<ModelParts>;

export const loadFromDirectory: ModelLoader = async (ref, session, adapterTargets) => {
  const dir = loadModelDir(ref.dir, { tokenizerDir: ref.tokenizerDir, requireTokenizer: true });
  if (!dir.tokenizer) throw new ModelLoadError(ref.dir, 'no tokenizer');
  // Weights holding NaN or Infinity (a diverged finetune) would serve empty or garbage text: refuse them.
  checkWeightsFinite(dir.weights, ref.dir);
  const runner = await T5Runner.fromWeights(dir.config, dir.weights, session, adapterTargets);
  const tokens = { decoderStart: dir.generationConfig.decoderStartTokenId, eos: dir.generationConfig.eosTokenIds };
  await probeForward(runner, tokens, ref.dir).catch(async (err: unknown) => {
    await runner.release();
    throw err;
  });
  const bytes = [...dir.weights.values()].reduce((sum, t) => sum + t.data.byteLength, 0);
  // The checkpoint, the graphs and onnxruntime's copies made while loading are garbage now: given back
  // at once, since a trim left for the idle pause waits behind the first requests' keep (FLAN_FREED_MEMORY_SECONDS).
  // The checkpoint's arrays are let go first: `dir` is still in scope, and what it holds cannot be collected.
  dir.weights.clear();
  returnFreedMemory();
  return { runner, tokenizer: dir.tokenizer, tokens, bytes };
};

/** A loaded model version: its graphs' sessions, its tokenizer and its scheduler. */
export interface LoadedModel {
  id: string;
  runner: T5Runner;
  tokenizer: Tokenizer;
  tokens: TokenIds;
  /** Bytes of its weights: what the memory budget counts. */
  bytes: number;
  scheduler: DecodeScheduler;
  /** Score passes in flight (settled, never rejecting): the version is released only after them. */
  scoring: Set<Promise<unknown>>;
}

/** A loaded adapter version over its loaded base. */
export interface LoadedAdapter {
  id: string;
  base: LoadedModel;
  /** Its factors as read plus its share of the base's stacked feeds. */
  bytes: number;
}

/** Where a request runs: a loaded model, and the adapter over it when the version is one. */
export interface Route {
  model: LoadedModel;
  adapter?: LoadedAdapter;
}

export interface RouterLimits extends SchedulerLimits {
  /** Weights of loaded versions kept at most; the least recently used idle ones are unloaded past it. */
  modelMemoryBytes: number;
  /** The modules whose layers take LoRA adapters per row (PEFT's target_modules); empty: no adapters. */
  adapterTargets: readonly string[];
  /** Adapter weights kept loaded at most; the least recently used are unloaded past it. */
  adapterMemoryBytes: number;
  /** An adapter no request has run on for this long is unloaded (0: never); see ModelRouter.useAdapter. */
  adapterIdleMs: number;
}

/**
 * The engine core's router: model version id -> loaded model. A version loads on first use (or when
 * asked ahead, before a hot swap), concurrent loads of one version share one load, and versions not
 * used for a while are unloaded under the memory budget. A version evicted while it still has requests
 * keeps serving them and is released once they finish.
 */
export class ModelRouter {
  private readonly loaded: LRUCache<string, LoadedModel>;
  private readonly loading = new Map<string, Promise<LoadedModel>>();
  /** Adapter versions by id, each held in its base's AdapterSlots while it is here. */
  private readonly adapters: LRUCache<string, LoadedAdapter>;
  /** Evicted or unloaded versions whose requests are still running. */
  private readonly retiring = new Set<Promise<void>>();
  /** Requests running on each adapter now (useAdapter). */
  private readonly adapterRequests = new Map<LoadedAdapter, number>();

  constructor(
    private readonly limits: RouterLimits,
    private readonly session: SessionConfig,
    private readonly loader: ModelLoader = loadFromDirectory,
  ) {
    const budget = Math.max(1, limits.modelMemoryBytes);
    this.loaded = new LRUCache<string, LoadedModel>({
      maxSize: budget,
      // A version larger than the whole budget still loads, alone.
      sizeCalculation: (model) => Math.min(budget, Math.max(1, model.bytes)),
      dispose: (model) => this.retire(model),
    });
    const adapterBudget = Math.max(1, limits.adapterMemoryBytes);
    this.adapters = new LRUCache<string, LoadedAdapter>({
      maxSize: adapterBudget,
      sizeCalculation: (adapter) => Math.min(adapterBudget, Math.max(1, adapter.bytes)),
      ...(limits.adapterIdleMs > 0 ? { ttl: limits.adapterIdleMs, updateAgeOnGet: true, ttlAutopurge: true } : {}),
      // Rows already running with it finish first: its slot is freed once nothing names it.
      dispose: (adapter) => adapter.base.scheduler.retireAdapter(adapter.id),
    });
  }

  /** Where a version runs, if it is loaded now (marks it recently used). */
  get(ref: ModelRef): Route | undefined {
    const model = this.loaded.get(ref.id);
    if (!model || !ref.adapter) return model && { model };
    const adapter = this.adapters.get(ref.adapter.id);
    return adapter?.base === model ? { model, adapter } : undefined;
  }

  /**
   * Keeps an adapter loaded while a request runs on it; the function returned, called when the request
   * ends, starts its idle time once no request runs on it. lru-cache's ttl counts from the last lookup,
   * so without this an adapter whose request outlasted adapterIdleMs was unloaded under it, and loaded
   * again from disk by the next request.
   */
  useAdapter(adapter: LoadedAdapter): () => void {
    if (!(this.limits.adapterIdleMs > 0)) return () => undefined;
    const running = this.adapterRequests.get(adapter) ?? 0;
    this.adapterRequests.set(adapter, running + 1);
    // ttl 0: no expiry while it is in use (the same value again: nothing is disposed).
    if (running === 0 && this.adapters.peek(adapter.id) === adapter) this.adapters.set(adapter.id, adapter, { ttl: 0 });
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = this.adapterRequests.get(adapter)! - 1;
      if (left > 0) return void this.adapterRequests.set(adapter, left);
      this.adapterRequests.delete(adapter);
      if (this.adapters.peek(adapter.id) === adapter) this.adapters.set(adapter.id, adapter);
    };
  }

  /** Where a version runs, loading its base and its adapter first when needed. */
  async route(ref: ModelRef): Promise<Route> {
    const model = await this.acquire(ref);
    if (!ref.adapter) return { model };
    const hit = this.get(ref);
    if (hit) return hit;
    const { id, dir } = ref.adapter;
    if (!model.scheduler.takesAdapters) throw new EngineError('model_load_failed', `adapter ${id}: this server takes no adapters (FLAN_ADAPTER_TARGETS is empty)`, 'model');
    let adapter: LoadedAdapter;
    try {
      const weights = readAdapterDir(dir);
      model.scheduler.addAdapter(id, weights);
      adapter = { id, base: model, bytes: 2 * adapterBytes(weights) };
    } catch (err) {
      if (err instanceof EngineError) throw err;
      throw new EngineError('model_load_failed', `adapter ${id} could not be loaded: ${(err as Error).message}`, 'model');
    }
    this.adapters.set(id, adapter);
    return { model, adapter };
  }

  /** The loaded version, loading it first when needed. */
  async acquire(ref: ModelRef): Promise<LoadedModel> {
    const hit = this.loaded.get(ref.id);
    if (hit) return hit;
    let pending = this.loading.get(ref.id);
    if (!pending) {
      pending = this.loadVersion(ref).finally(() => this.loading.delete(ref.id));
      this.loading.set(ref.id, pending);
    }
    return pending;
  }

  /** Unloads a version or an adapter version by id. */
  unload(id: string): void {
    if (!this.adapters.delete(id)) this.loaded.delete(id);
  }

  info(route: Route, maxPromptTokens: number): LoadedModelInfo {
    const { model, adapter } = route;
    return { id: adapter?.id ?? model.id, bytes: adapter?.bytes ?? model.bytes, maxPromptTokens, nodePlacement: model.runner.nodePlacement };
  }

  models(): LoadedModel[] {
    return [...this.loaded.values()];
  }

  /** The adapter versions loaded now, with their bytes. */
  loadedAdapters(): { id: string; bytes: number }[] {
    return [...this.adapters.values()].map(({ id, bytes }) => ({ id, bytes }));
  }

  /** Unloads everything: in-flight requests get graceMs, then are cancelled. */
  async close(graceMs: number): Promise<void> {
    const models = this.models();
    const idle = Promise.all(models.flatMap((m) => [m.scheduler.idle(), ...m.scoring]));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
    if (await Promise.race([idle.then(() => false), timedOut])) for (const m of models) m.scheduler.cancelAll();
    clearTimeout(timer);
    this.adapters.clear();
    this.loaded.clear();
    await Promise.all(this.retiring);
  }

  private async loadVersion(ref: ModelRef): Promise<LoadedModel> {
    let model: LoadedModel;
    try {
      const parts = await this.loader(ref, this.session, this.limits.adapterTargets);
      model = { id: ref.id, ...parts, scheduler: new DecodeScheduler(parts.runner, parts.tokenizer, parts.tokens, this.limits), scoring: new Set() };
    } catch (err) {
      throw new EngineError('model_load_failed', `model ${ref.id} could not be loaded: ${(err as Error).message}`, 'model');
    }
    this.loaded.set(ref.id, model);
    return model;
  }

  private retire(model: LoadedModel): void {
    for (const adapter of [...this.adapters.values()]) if (adapter.base === model) this.adapters.delete(adapter.id);
    const released = Promise.all([model.scheduler.idle(), ...model.scoring])
      .then(() => model.scheduler.release())
      .catch(() => undefined);
    this.retiring.add(released);
    void released.finally(() => this.retiring.delete(released));
  }
}
