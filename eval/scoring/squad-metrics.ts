/**
 * TyDiQA-GoldP is scored with the SQuAD v1.1 script: answers are normalised (lower case, punctuation
 * and English articles removed, whitespace collapsed), then exact match and token F1 against each gold
 * answer, keeping the best.
 */
export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(/\p{P}/gu, '')
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter((t) => t !== '')
    .join(' ');
}

export function exactMatch(prediction: string, golds: readonly string[]): number {
  const p = normalizeAnswer(prediction);
  return golds.some((g) => normalizeAnswer(g) === p) ? 1 : 0;
}

export function tokenF1(prediction: string, golds: readonly string[]): number {
  return Math.max(0, ...golds.map((g) => f1(normalizeAnswer(prediction).split(' '), normalizeAnswer(g).split(' '))));
}

function f1(pred: string[], gold: string[]): number {
  const counts = new Map<string, number>();
  for (const t of gold) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of pred) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      common++;
      counts.set(t, c - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / pred.length;
  const recall = common / gold.length;
  return (2 * precision * recall) / (precision + recall);
}
