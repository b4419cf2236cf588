import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/config-error.ts';
import { DEFAULT_LIMITS, serverConfigFromEnv } from '../../server/server-config.ts';

describe('serverConfigFromEnv: browser, rate and timeout settings', () => {
  it('reads FLAN_CORS_ORIGINS, FLAN_RATE_LIMIT(_WINDOW_MS) and the timeouts', () => {
    const config = serverConfigFromEnv({
      FLAN_CORS_ORIGINS: 'https://app.example, http://localhost:5173',
      FLAN_RATE_LIMIT: '120',
      FLAN_RATE_LIMIT_WINDOW_MS: '1000',
      FLAN_REQUEST_TIMEOUT_MS: '5000',
      FLAN_IDLE_TIMEOUT_MS: '9000',
    });
    expect(config.corsOrigins).toEqual(['https://app.example', 'http://localhost:5173']);
    expect(config.rateLimit).toEqual({ max: 120, windowMs: 1000 });
    expect(config.limits).toMatchObject({ requestTimeoutMs: 5000, idleTimeoutMs: 9000, bodyBytes: DEFAULT_LIMITS.bodyBytes });
  });

  it('defaults to no origins, no rate limit and the default timeouts', () => {
    const config = serverConfigFromEnv({});
    expect(config.corsOrigins).toEqual([]);
    expect(config.rateLimit.max).toBe(0);
    expect(config.limits.requestTimeoutMs).toBe(DEFAULT_LIMITS.requestTimeoutMs);
  });

  it.each([
    ['FLAN_CORS_ORIGINS', 'https://app.example/path', /FLAN_CORS_ORIGINS/],
    ['FLAN_CORS_ORIGINS', '*', /FLAN_CORS_ORIGINS/],
    ['FLAN_RATE_LIMIT', 'lots', /FLAN_RATE_LIMIT must be a whole number/],
    ['FLAN_REQUEST_TIMEOUT_MS', '-1', /FLAN_REQUEST_TIMEOUT_MS/],
  ])('refuses %s=%s naming the variable', (name, value, message) => {
    expect(() => serverConfigFromEnv({ [name]: value })).toThrow(ConfigError);
    expect(() => serverConfigFromEnv({ [name]: value })).toThrow(message);
  });
});
