/**
 * Self-consistency (Wang et al.): the most frequent extracted answer among the samples; samples with
 * no answer do not vote, and a tie goes to the answer that reached the winning count first, so the
 * result is deterministic.
 */
export function majorityVote(answers: readonly (string | null)[]): string | null {
  const counts = new Map<string, number>();
  let best: string | null = null;
  let bestCount = 0;
  for (const a of answers) {
    if (a === null) continue;
    const c = (counts.get(a) ?? 0) + 1;
    counts.set(a, c);
    if (c > bestCount) {
      best = a;
      bestCount = c;
    }
  }
  return best;
}
