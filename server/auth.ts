import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './api-error.ts';
import { isKeyless, type ServerConfig } from './server-config.ts';

export type Scope = 'api' | 'admin';

// Keys are compared as hashes so that the comparison takes the same time whatever the key's length.
const digest = (key: string) => createHash('sha256').update(key).digest();
const matches = (given: Buffer, keys: Buffer[]) => keys.some((k) => timingSafeEqual(given, k));

/** The subprotocol prefix that carries a key on a browser's websocket, as OpenAI's realtime API takes it. */
export const WS_KEY_PROTOCOL = 'openai-insecure-api-key.';

/** The websocket subprotocols a client offered (`Sec-WebSocket-Protocol`, comma separated). */
export function offeredProtocols(request: Pick<FastifyRequest, 'headers'>): string[] {
  const header = request.headers['sec-websocket-protocol'];
  return (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((p) => p.trim()).filter(Boolean);
}

/**
 * The key a request presents: `Authorization: Bearer`, or, on a websocket upgrade (browsers cannot set
 * headers there), a `openai-insecure-api-key.<key>` subprotocol. Never a URL parameter: URLs end up in logs.
 */
function presentedKey(request: FastifyRequest): string | undefined {
  const match = request.headers.authorization?.match(/^Bearer\s+(.+)$/i);
  if (match) return match[1].trim();
  if (request.headers.upgrade?.toLowerCase() !== 'websocket') return undefined;
  return offeredProtocols(request).find((p) => p.startsWith(WS_KEY_PROTOCOL))?.slice(WS_KEY_PROTOCOL.length) || undefined;
}

/**
 * Who may call what. /v1 takes an API key or the admin key; /admin the admin key only. With no API
 * keys the server is keyless (loopback only) and /v1 is open; admin routes are then open too unless
 * an admin key is set. With API keys but no admin key, admin routes are refused: an API key holder
 * must not be able to swap the model.
 */
export class KeyChecker {
  private readonly apiKeys: Buffer[];
  private readonly adminKey?: Buffer;
  private readonly keyless: boolean;

  constructor(config: Pick<ServerConfig, 'apiKeys' | 'adminKey'>) {
    this.apiKeys = config.apiKeys.map(digest);
    this.adminKey = config.adminKey === undefined ? undefined : digest(config.adminKey);
    this.keyless = isKeyless(config);
  }

  /**
   * Whom a request is counted against for rate limits: a configured key it presents (by its digest,
   * never the key itself), else its address, so that made-up keys share one budget.
   */
  identify(request: FastifyRequest): string {
    const token = presentedKey(request);
    if (token !== undefined) {
      const given = digest(token);
      if (matches(given, [...this.apiKeys, ...(this.adminKey ? [this.adminKey] : [])])) return `key:${given.toString('hex', 0, 12)}`;
    }
    return `address:${request.ip}`;
  }

  /** Throws the 401 or 403 the request deserves, or returns when it may proceed. */
  check(request: FastifyRequest, scope: Scope): void {
    const token = presentedKey(request);
    const admin = this.adminKey ? [this.adminKey] : [];
    if (scope === 'api') {
      if (this.keyless) return;
      if (token === undefined) throw missingKey();
      if (!matches(digest(token), [...this.apiKeys, ...admin])) throw wrongKey();
      return;
    }
    if (!this.adminKey) {
      if (this.keyless) return;
      throw new ApiError(403, 'permission_error', 'Admin routes are disabled: the server has no FLAN_ADMIN_KEY', 'admin_disabled');
    }
    if (token === undefined) throw missingKey();
    const given = digest(token);
    if (matches(given, [this.adminKey])) return;
    if (matches(given, this.apiKeys)) {
      throw new ApiError(403, 'permission_error', 'This route needs the admin key', 'admin_key_required');
    }
    throw wrongKey();
  }
}

const missingKey = () =>
  new ApiError(
    401,
    'authentication_error',
    "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'",
    'missing_api_key',
  );

const wrongKey = () => new ApiError(401, 'authentication_error', 'Incorrect API key provided', 'invalid_api_key');
