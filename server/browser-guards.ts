import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './api-error.ts';
import { WS_KEY_PROTOCOL, type KeyChecker } from './auth.ts';

export interface BrowserPolicy {
  /** Origins whose pages may call the API (FLAN_CORS_ORIGINS); every other cross-origin browser request is refused. */
  corsOrigins: readonly string[];
  /** Requests per key (or per address without one) in each window; 0: no limit (FLAN_RATE_LIMIT). */
  rateLimit: { max: number; windowMs: number };
}

/** Routes that answer probes and scrapers; never rate limited. */
const OPS_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** A browser sends Origin on cross-origin requests, on same-origin POSTs and on every websocket; other clients do not. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false; // "null" (sandboxed frames, file://) and garbage are no origin this server can trust
  }
}

/**
 * What a web page the user happens to visit may do with a server on their machine: nothing, unless its
 * origin is listed. Keyless servers listen on loopback, which a browser still reaches, so a page could
 * otherwise activate model versions or drive the websocket chat. Listed origins get CORS headers and
 * preflights (@fastify/cors). Rate limits per key (@fastify/rate-limit) answer 429 with Retry-After.
 */
export async function installBrowserGuards(app: FastifyInstance, policy: BrowserPolicy, keys: KeyChecker): Promise<void> {
  const allowed = new Set(policy.corsOrigins);
  if (allowed.size > 0) {
    await app.register(cors, {
      origin: [...allowed],
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type'],
      exposedHeaders: ['retry-after'],
      maxAge: 600,
    });
  }
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const { origin } = request.headers;
    if (origin === undefined || allowed.has(origin) || sameOrigin(origin, request.headers.host)) return;
    throw new ApiError(
      403,
      'permission_error',
      `Requests from the web page at ${origin} are not allowed; list its origin in FLAN_CORS_ORIGINS to allow them`,
      'origin_not_allowed',
    );
  });

  if (policy.rateLimit.max > 0) {
    // Not `global`: the plugin would add its check after each route's own hooks, so a made-up key would
    // meet the 401 first and never be counted. A root hook runs before them.
    await app.register(rateLimit, { global: false });
    app.addHook('onRequest', app.rateLimit({
      max: policy.rateLimit.max,
      timeWindow: policy.rateLimit.windowMs,
      keyGenerator: (request) => keys.identify(request),
      allowList: (request) => OPS_ROUTES.has(request.url.split('?')[0]),
      errorResponseBuilder: (_request, context) => {
        const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
        return new ApiError(429, 'rate_limit_error', `Rate limit reached: ${context.max} requests per ${context.after}; retry in ${seconds} s`, 'rate_limit_exceeded', null, {
          'retry-after': String(seconds),
        });
      },
    }));
  }
}

/**
 * The subprotocol the server answers a websocket handshake with: the first one offered that is not a
 * key, else the key's own (a browser fails a handshake that offered protocols and got none back).
 */
export function chooseWebsocketProtocol(protocols: Set<string>): string | false {
  const offered = [...protocols];
  return offered.find((p) => !p.startsWith(WS_KEY_PROTOCOL)) ?? offered[0] ?? false;
}
