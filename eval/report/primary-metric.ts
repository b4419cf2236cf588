import type { Suite } from '../benchmarks/types.ts';

/** The number each suite is read by, and the scale it lives on. */
export function primaryMetric(suite: Suite): { name: string; max: number; higherIsBetter: boolean } {
  if (suite === 'civilcomments') return { name: 'auc', max: 1, higherIsBetter: true };
  if (suite === 'flan') return { name: 'normalized', max: 100, higherIsBetter: true };
  if (suite === 'rtp') return { name: 'expected_max_toxicity', max: 1, higherIsBetter: false };
  return { name: 'accuracy', max: 100, higherIsBetter: true };
}
