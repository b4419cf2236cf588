import { ConfigError } from '../runtime/config-error.ts';

export interface ServerLimits {
  /** Largest request body in bytes (413 past it). */
  bodyBytes: number;
  /** Largest websocket message in bytes (the socket is closed with 1009 past it). */
  websocketMessageBytes: number;
  /** How long shutdown lets in-flight generations finish before cancelling them. */
  shutdownGraceMs: number;
  /** How long a client has to send a whole request, head and body (408 past it). */
  requestTimeoutMs: number;
  /** How long a connection may stay silent both ways before it is closed. */
  idleTimeoutMs: number;
}

export interface ServerConfig {
  host: string;
  port: number;
  /** Bearer keys accepted on /v1 (the admin key is accepted there too). Empty: /v1 is open. */
  apiKeys: string[];
  /** Bearer key for /admin; undefined: admin routes are open only while /v1 is open too. */
  adminKey?: string;
  limits: ServerLimits;
  /** FLAN_CORS_ORIGINS: web origins allowed to call the API from a browser. */
  corsOrigins: string[];
  /** FLAN_RATE_LIMIT requests per key per FLAN_RATE_LIMIT_WINDOW_MS; max 0: none. */
  rateLimit: { max: number; windowMs: number };
}

export const NO_RATE_LIMIT = { max: 0, windowMs: 60_000 };

export const DEFAULT_LIMITS: ServerLimits = {
  bodyBytes: 1024 * 1024,
  websocketMessageBytes: 64 * 1024,
  shutdownGraceMs: 10_000,
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 120_000,
};

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

/** True when no key protects /v1: the server must then only be reachable from this machine. */
export function isKeyless(config: Pick<ServerConfig, 'apiKeys'>): boolean {
  return config.apiKeys.length === 0;
}

export interface ResolvedHost {
  host: string;
  /** Set when HOST asked for a public address that keyless mode does not allow. */
  overridden?: string;
}

/** Keyless servers bind loopback whatever HOST says: an open model API must not reach the network. */
export function bindHost(config: ServerConfig): ResolvedHost {
  if (isKeyless(config) && !isLoopback(config.host)) return { host: '127.0.0.1', overridden: config.host };
  return { host: config.host };
}

function nonNegativeInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text)) throw new ConfigError(`${name} must be a whole number, not "${text}"`);
  return Number(text);
}

function origins(text: string | undefined): string[] {
  const list = (text ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of list) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin) throw new ConfigError(`FLAN_CORS_ORIGINS takes origins like https://app.example.com (scheme, host, port; no path), not "${origin}"`);
  }
  return list;
}

/**
 * HOST, PORT, FLAN_API_KEYS, FLAN_ADMIN_KEY, FLAN_CORS_ORIGINS, FLAN_RATE_LIMIT(_WINDOW_MS) and the
 * FLAN_*_TIMEOUT_MS limits, checked; throws with the variable's name on a bad value.
 */
export function serverConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const port = env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`PORT must be a port number from 0 to 65535, not "${env.PORT}"`);
  }
  const apiKeys = (env.FLAN_API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const adminKey = env.FLAN_ADMIN_KEY?.trim() || undefined;
  const limits = {
    ...DEFAULT_LIMITS,
    requestTimeoutMs: nonNegativeInt(env, 'FLAN_REQUEST_TIMEOUT_MS', DEFAULT_LIMITS.requestTimeoutMs),
    idleTimeoutMs: nonNegativeInt(env, 'FLAN_IDLE_TIMEOUT_MS', DEFAULT_LIMITS.idleTimeoutMs),
  };
  const rateLimit = {
    max: nonNegativeInt(env, 'FLAN_RATE_LIMIT', NO_RATE_LIMIT.max),
    windowMs: nonNegativeInt(env, 'FLAN_RATE_LIMIT_WINDOW_MS', NO_RATE_LIMIT.windowMs) || NO_RATE_LIMIT.windowMs,
  };
  return { host: env.HOST?.trim() || '127.0.0.1', port, apiKeys, adminKey, limits, corsOrigins: origins(env.FLAN_CORS_ORIGINS), rateLimit };
}
