import { FLAN_NORMALIZED_AVERAGE_PARTS, normalizeScore } from '../scoring/normalized-average.ts';
import type { EvalResult, TaskResult } from './eval-result.ts';
import { summarizeTasks } from './paper-protocol.ts';

export interface FlanNormalizedAverage {
  /** Mean of the normalised scores found; undefined when none of the six runs is there. */
  value?: number;
  parts: { suite: string; mode: string; score: number; randomBaseline: number; normalized: number }[];
  /** The (suite, mode) pairs of the paper's six that the runs lack: the average is partial until they exist. */
  missing: string[];
}

/**
 * A run's normalised score: each task against its own random baseline, then averaged as the suite's
 * number is (over tasks, or over questions for MMLU). Normalising the macro accuracy against the macro
 * baseline instead would let BBH's free-form tasks (baseline 0) count for more than their share.
 */
export function runNormalizedScore(run: Pick<EvalResult, 'suite' | 'tasks'>): number | undefined {
  const entries = Object.entries(run.tasks).filter(([, t]) => t.metrics.accuracy !== undefined);
  if (entries.length === 0) return undefined;
  const normalized: Record<string, TaskResult> = Object.fromEntries(
    entries.map(([name, t]) => [
      name,
      {
        metrics: { normalized: normalizeScore({ score: t.metrics.accuracy, randomBaseline: t.metrics.random_baseline ?? 0 }), count: t.metrics.count ?? 0 },
        examples: [],
      },
    ]),
  );
  return summarizeTasks(run.suite, normalized).normalized;
}

/** The paper's normalised average (its Table 5) from a set of runs: the mean of the six runs' normalised scores. */
export function flanNormalizedAverage(runs: readonly EvalResult[]): FlanNormalizedAverage {
  const parts: FlanNormalizedAverage['parts'] = [];
  const missing: string[] = [];
  for (const [suite, mode] of FLAN_NORMALIZED_AVERAGE_PARTS) {
    const run = runs.find((r) => r.suite === suite && r.mode === mode);
    const normalized = run === undefined ? undefined : runNormalizedScore(run);
    if (!run || normalized === undefined) {
      missing.push(`${suite}/${mode}`);
      continue;
    }
    parts.push({ suite, mode, score: run.summary.accuracy, randomBaseline: run.summary.random_baseline ?? 0, normalized });
  }
  const value = parts.length === 0 ? undefined : parts.reduce((s, p) => s + p.normalized, 0) / parts.length;
  return { ...(value !== undefined ? { value } : {}), parts, missing };
}
