import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Engine, ModelRef } from '../runtime/engine/engine-api.ts';
import type { ModelCatalog } from '../runtime/versions/model-catalog.ts';
import { modelNotFound, notReady, shuttingDown } from './api-error.ts';
import type { KeyChecker, Scope } from './auth.ts';
import type { ServerLimits } from './server-config.ts';
import type { ServerMetrics } from './server-metrics.ts';

/** Whether the server is still taking new work; shutdown flips it before anything else. */
export class Lifecycle {
  closing = false;
}

/** The engine and the names it serves; `ready` once the base models have loaded (until then: 503). */
export class Serving {
  ready = false;

  constructor(
    readonly engine: Engine,
    readonly catalog: ModelCatalog,
  ) {}
}

/** What every route plugin is given: the app's collaborators, passed explicitly instead of globals. */
export class ServerContext {
  constructor(
    readonly serving: Serving,
    readonly metrics: ServerMetrics,
    readonly keys: KeyChecker,
    readonly limits: ServerLimits,
    readonly lifecycle: Lifecycle,
  ) {}

  get catalog(): ModelCatalog {
    return this.serving.catalog;
  }

  /** An onRequest hook checking the bearer key for `scope`. */
  auth(scope: Scope) {
    return async (request: FastifyRequest, _reply: FastifyReply) => this.keys.check(request, scope);
  }

  /**
   * The engine and the version that serves `model` (an alias, a base or a finetuned version's id) now:
   * 503 while shutting down or before the base models are ready, 404 for an unknown name.
   */
  modelFor(model: string): { engine: Engine; ref: ModelRef } {
    if (this.lifecycle.closing) throw shuttingDown();
    if (!this.serving.ready) throw notReady();
    const found = this.serving.catalog.resolve(model);
    if (!found) throw modelNotFound(model);
    return { engine: this.serving.engine, ref: found.ref };
  }

  /** The name a request that names no model is served by: the first alias. */
  defaultModel(): string {
    if (!this.serving.ready) throw notReady();
    const first = this.serving.catalog.store.aliases()[0];
    if (!first) throw notReady();
    return first.name;
  }
}
