import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/config-error.ts';
import { adapterLimitsFromEnv } from '../../runtime/engine/adapter-config.ts';

describe('FLAN_ADAPTER_* settings', () => {
  it('reads targets, memory and idle time, and leaves unset ones to the defaults', () => {
    expect(adapterLimitsFromEnv({})).toEqual({});
    expect(adapterLimitsFromEnv({ FLAN_ADAPTER_TARGETS: 'q, k,v,o', FLAN_ADAPTER_MEMORY_MB: '64', FLAN_ADAPTER_IDLE_SECONDS: '0' })).toEqual({
      adapterTargets: ['q', 'k', 'v', 'o'],
      adapterMemoryBytes: 64 * 2 ** 20,
      adapterIdleMs: 0,
    });
    expect(adapterLimitsFromEnv({ FLAN_ADAPTER_TARGETS: 'none' })).toEqual({ adapterTargets: [] });
  });

  it('refuses malformed values, naming the setting', () => {
    expect(() => adapterLimitsFromEnv({ FLAN_ADAPTER_TARGETS: 'q;v' })).toThrow(ConfigError);
    expect(() => adapterLimitsFromEnv({ FLAN_ADAPTER_MEMORY_MB: '0' })).toThrow(/FLAN_ADAPTER_MEMORY_MB/);
    expect(() => adapterLimitsFromEnv({ FLAN_ADAPTER_IDLE_SECONDS: '1.5' })).toThrow(/FLAN_ADAPTER_IDLE_SECONDS/);
  });
});
