import { FLAN_NORMALIZED_AVERAGE_PARTS, normalizeScore } from '../scoring/normalized-average.ts';
import type { EvalResult } from './eval-result.ts';

export interface FlanNormalizedAverage {
  /** Mean of the normalised scores found; undefined when none of the six runs is there. */
  value?: number;
  parts: { suite: string; mode: string; score: number; randomBaseline: number; normalized: number }[];
  /** The (suite, mode) pairs of the paper's six that the runs lack: the average is partial until they exist. */
  missing: string[];
}

/**
 * The paper's normalised average from a set of runs: each of the six runs' macro accuracy against
 * its macro random baseline, as the paper's per-benchmark numbers are macro averages too.
 */
export function flanNormalizedAverage(runs: readonly EvalResult[]): FlanNormalizedAverage {
  const parts: FlanNormalizedAverage['parts'] = [];
  const missing: string[] = [];
  for (const [suite, mode] of FLAN_NORMALIZED_AVERAGE_PARTS) {
    const run = runs.find((r) => r.suite === suite && r.mode === mode);
    if (!run || run.summary.accuracy === undefined) {
      missing.push(`${suite}/${mode}`);
      continue;
    }
    const score = run.summary.accuracy;
    const randomBaseline = run.summary.random_baseline ?? 0;
    parts.push({ suite, mode, score, randomBaseline, normalized: normalizeScore({ score, randomBaseline }) });
  }
  const value = parts.length === 0 ? undefined : parts.reduce((s, p) => s + p.normalized, 0) / parts.length;
  return { ...(value !== undefined ? { value } : {}), parts, missing };
}
