import { ConfigError, wholeNumberFromEnv } from '../config-error.ts';
import type { RouterLimits } from './model-router.ts';

type AdapterLimits = Pick<RouterLimits, 'adapterTargets' | 'adapterMemoryBytes' | 'adapterIdleMs'>;

/**
 * FLAN_ADAPTER_TARGETS (comma list of modules whose layers take LoRA adapters per row, e.g. "q,v";
 * "none" builds graphs without adapter inputs), FLAN_ADAPTER_MEMORY_MB (adapters kept loaded at most)
 * and FLAN_ADAPTER_IDLE_SECONDS (an adapter unused this long is unloaded; 0 = never). Unset: defaults.
 */
export function adapterLimitsFromEnv(env: NodeJS.ProcessEnv): Partial<AdapterLimits> {
  const limits: Partial<AdapterLimits> = {};
  const targets = env.FLAN_ADAPTER_TARGETS?.trim();
  if (targets) {
    const modules = targets === 'none' ? [] : targets.split(',').map((t) => t.trim());
    if (modules.some((m) => !/^[A-Za-z0-9_]+$/.test(m))) throw new ConfigError(`FLAN_ADAPTER_TARGETS must be a comma list of module names (q,k,v,o,wi_0,wi_1,wo) or "none", not "${targets}"`);
    limits.adapterTargets = modules;
  }
  const mb = wholeNumberFromEnv(env, 'FLAN_ADAPTER_MEMORY_MB', 1);
  if (mb !== undefined) limits.adapterMemoryBytes = mb * 2 ** 20;
  const idle = wholeNumberFromEnv(env, 'FLAN_ADAPTER_IDLE_SECONDS', 0);
  if (idle !== undefined) limits.adapterIdleMs = idle * 1000;
  return limits;
}
