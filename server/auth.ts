import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './api-error.ts';
import { isKeyless, type ServerConfig } from './server-config.ts';

export type Scope = 'api' | 'admin';

// Keys are compared as hashes so that the comparison takes the same time whatever the key's length.
const digest = (key: string) => createHash('sha256').update(key).digest();
const matches = (given: Buffer, keys: Buffer[]) => keys.some((k) => timingSafeEqual(given, k));

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header?.match(/^Bearer\s+(.+)$/i);
  return match?.[1].trim();
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

  /** Throws the 401 or 403 the request deserves, or returns when it may proceed. */
  check(request: FastifyRequest, scope: Scope): void {
    const token = bearerToken(request);
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
