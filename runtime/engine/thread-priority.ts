import { readFileSync } from 'node:fs';
import { ConfigError } from '../config-error.ts';

/**
 * The engine worker's nice value by default: model work yields the cores to the HTTP thread when both
 * want one, so /healthz and new requests are answered while the engine is saturated (bench load: see
 * the README). It changes nothing on an idle core.
 */
export const DEFAULT_ENGINE_NICE = 10;

/** FLAN_ENGINE_NICE: 0 (the HTTP thread's own priority) to 19 (the lowest). */
export function engineNiceFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.FLAN_ENGINE_NICE;
  if (raw === undefined || raw === '') return DEFAULT_ENGINE_NICE;
  const nice = Number(raw);
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new ConfigError(`FLAN_ENGINE_NICE must be a whole number from 0 to 19, not "${raw}"`);
  return nice;
}

/**
 * How long thread `tid` of this process has waited, in all, for a CPU while it was ready to run
 * (the kernel's run_delay in /proc/<pid>/task/<tid>/schedstat), in ms; undefined where it cannot be read
 * (other systems, kernels without scheduler statistics).
 */
export function threadCpuWaitMs(tid: number): number | undefined {
  try {
    const runDelayNs = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
    return Number.isFinite(runDelayNs) ? runDelayNs / 1e6 : undefined;
  } catch {
    return undefined;
  }
}
