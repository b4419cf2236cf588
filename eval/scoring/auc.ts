/**
 * Area under the ROC curve as the Mann-Whitney statistic: the probability that a random positive
 * scores above a random negative, ties counting one half. Exact, and needs no threshold sweep.
 */
export function rocAuc(scores: readonly number[], labels: readonly boolean[]): number {
  if (scores.length !== labels.length) throw new Error('rocAuc: scores and labels differ in length');
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  // Average ranks over ties, 1-based.
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) ranks[order[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const positives = labels.filter(Boolean).length;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) throw new Error('rocAuc needs at least one positive and one negative');
  const positiveRankSum = ranks.reduce((sum, r, i) => sum + (labels[i] ? r : 0), 0);
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
