/**
 * The Flan paper's headline number (Section 2.3): each benchmark score is normalised against its
 * random-guess baseline, (score - random) / (100 - random) * 100, and the six normalised scores
 * (MMLU direct and CoT, BBH direct and CoT, TyDiQA direct, MGSM CoT) are averaged. A score below
 * chance normalises to a negative number, as in the paper.
 */
export interface BaselinedScore {
  /** Percent. */
  score: number;
  /** Percent a uniform guess would score. */
  randomBaseline: number;
}

export function normalizeScore({ score, randomBaseline }: BaselinedScore): number {
  if (randomBaseline >= 100) throw new Error('a random baseline of 100% cannot be normalised against');
  return ((score - randomBaseline) / (100 - randomBaseline)) * 100;
}

export function normalizedAverage(scores: readonly BaselinedScore[]): number {
  if (scores.length === 0) throw new Error('the normalized average needs at least one score');
  return scores.reduce((sum, s) => sum + normalizeScore(s), 0) / scores.length;
}

/** The six (suite, mode) pairs the paper averages. */
export const FLAN_NORMALIZED_AVERAGE_PARTS = [
  ['mmlu', 'direct'],
  ['mmlu', 'cot'],
  ['bbh', 'direct'],
  ['bbh', 'cot'],
  ['tydiqa', 'direct'],
  ['mgsm', 'cot'],
] as const;
