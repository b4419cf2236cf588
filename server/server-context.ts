import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../runtime/engine/engine-api.ts';
import { modelNotFound, notReady, shuttingDown } from './api-error.ts';
import type { KeyChecker, Scope } from './auth.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { ServerLimits } from './server-config.ts';
import type { ServerMetrics } from './server-metrics.ts';

/** Whether the server is still taking new work; shutdown flips it before anything else. */
export class Lifecycle {
  closing = false;
}

/** What every route plugin is given: the app's collaborators, passed explicitly instead of globals. */
export class ServerContext {
  constructor(
    readonly registry: ModelRegistry,
    readonly metrics: ServerMetrics,
    readonly keys: KeyChecker,
    readonly limits: ServerLimits,
    readonly lifecycle: Lifecycle,
  ) {}

  /** An onRequest hook checking the bearer key for `scope`. */
  auth(scope: Scope) {
    return async (request: FastifyRequest, _reply: FastifyReply) => this.keys.check(request, scope);
  }

  /** The engine serving `model` (its id or a registry alias) now: 503 while none is ready or shutting down, 404 for another name. */
  engineFor(model: string): Engine {
    if (this.lifecycle.closing) throw shuttingDown();
    const engine = this.registry.active();
    if (!engine) throw notReady();
    if (model !== engine.modelId && !this.registry.aliases?.().includes(model)) throw modelNotFound(model);
    return engine;
  }
}
