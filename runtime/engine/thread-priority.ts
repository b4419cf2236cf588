import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
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
 * Lowers the calling thread's scheduling priority to `nice`. On Linux a priority belongs to a thread,
 * and threads started from this one (onnxruntime's pool threads, made when its sessions are) inherit
 * it; the thread's id comes from /proc/thread-self. Returns the thread id, or undefined where there is
 * no such file (other systems: the priority stays).
 */
export function lowerThreadPriority(nice: number): number | undefined {
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return undefined;
  }
  setPriority(tid, nice);
  return tid;
}
