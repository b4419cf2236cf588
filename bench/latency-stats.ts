/** The p-th percentile (nearest rank) of some latencies. */
export const percentile = (xs: readonly number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** The median as the benchmarks take it: the upper middle value of an even count. */
export const median = (xs: readonly number[]) => percentile(xs, 50);

const tenth = (x: number) => Math.round(x * 10) / 10;

/** How the benchmarks report a latency series: count, median, p99 and maximum, in tenths of a ms. */
export function latencySummary(ms: readonly number[]) {
  return { samples: ms.length, p50: tenth(percentile(ms, 50)), p99: tenth(percentile(ms, 99)), max: tenth(Math.max(...ms)) };
}
