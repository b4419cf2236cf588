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
}

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

/** HOST, PORT, FLAN_API_KEYS and FLAN_ADMIN_KEY, checked; throws with the variable's name on a bad value. */
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
  return { host: env.HOST?.trim() || '127.0.0.1', port, apiKeys, adminKey, limits: DEFAULT_LIMITS };
}
