import { LRUCache } from 'lru-cache';
import { loadModelDir } from '../checkpoint/model-dir.ts';
import { ModelLoadError } from '../checkpoint/model-load-error.ts';
import type { Tokenizer } from '../checkpoint/tokenizer.ts';
import type { SessionConfig } from '../onnx-session.ts';
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

/** Loads a version's parts; the default reads its directory in the Hugging Face layout. */
export type ModelLoader = (ref: ModelRef, session: SessionConfig) => Promise<ModelParts>;

export const loadFromDirectory: ModelLoader = async (ref, session) => {
  const dir = loadModelDir(ref.dir, { tokenizerDir: ref.tokenizerDir, requireTokenizer: true });
  if (!dir.tokenizer) throw new ModelLoadError(ref.dir, 'no tokenizer');
  const runner = await T5Runner.fromWeights(dir.config, dir.weights, session);
  const tokens = { decoderStart: dir.generationConfig.decoderStartTokenId, eos: dir.generationConfig.eosTokenIds };
  const bytes = [...dir.weights.values()].reduce((sum, t) => sum + t.data.byteLength, 0);
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
}

export interface RouterLimits extends SchedulerLimits {
  /** Weights of loaded versions kept at most; the least recently used idle ones are unloaded past it. */
  modelMemoryBytes: number;
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
  /** Evicted or unloaded versions whose requests are still running. */
  private readonly retiring = new Set<Promise<void>>();

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
  }

  /** The loaded version, if it is loaded now (marks it recently used). */
  get(id: string): LoadedModel | undefined {
    return this.loaded.get(id);
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

  unload(id: string): void {
    this.loaded.delete(id);
  }

  info(model: LoadedModel, maxPromptTokens: number): LoadedModelInfo {
    return { id: model.id, bytes: model.bytes, maxPromptTokens, nodePlacement: model.runner.nodePlacement };
  }

  models(): LoadedModel[] {
    return [...this.loaded.values()];
  }

  /** Unloads everything: in-flight requests get graceMs, then are cancelled. */
  async close(graceMs: number): Promise<void> {
    const models = this.models();
    const idle = Promise.all(models.map((m) => m.scheduler.idle()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
    if (await Promise.race([idle.then(() => false), timedOut])) for (const m of models) m.scheduler.cancelAll();
    clearTimeout(timer);
    this.loaded.clear();
    await Promise.all(this.retiring);
  }

  private async loadVersion(ref: ModelRef): Promise<LoadedModel> {
    let model: LoadedModel;
    try {
      const parts = await this.loader(ref, this.session);
      model = { id: ref.id, ...parts, scheduler: new DecodeScheduler(parts.runner, parts.tokenizer, parts.tokens, this.limits) };
    } catch (err) {
      throw new EngineError('model_load_failed', `model ${ref.id} could not be loaded: ${(err as Error).message}`, 'model');
    }
    this.loaded.set(ref.id, model);
    return model;
  }

  private retire(model: LoadedModel): void {
    const released = model.scheduler
      .idle()
      .then(() => model.scheduler.release())
      .catch(() => undefined);
    this.retiring.add(released);
    void released.finally(() => this.retiring.delete(released));
  }
}
