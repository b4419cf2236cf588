import { ServerMetrics } from '../../server/server-metrics.ts';

/** Paths of deploy/ and the facts its checks share. */
export const DEPLOY = new URL('../../deploy/', import.meta.url).pathname;
export const REPO = new URL('../../', import.meta.url).pathname;

/** An image tag that names a release (20.20.2-bookworm-slim, v3.1.0), not one that moves (latest, bookworm). */
export const VERSIONED_TAG = /^v?\d+\.\d+/;

/**
 * The metric families the server really exports, read from its registry rather than from a list kept
 * here; with a lab, as `flan-serve serve` always opens one.
 */
export async function exportedMetricNames(): Promise<Set<string>> {
  const metrics = new ServerMetrics(() => undefined, () => [], () => ({ queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 }));
  return new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
}

const SAMPLE_SUFFIXES = ['_bucket', '_sum', '_count'];

/** The metric families a PromQL expression reads (a histogram's _bucket/_sum/_count name its family). */
export function metricsInQuery(expr: string): string[] {
  return [...expr.matchAll(/\bflan_[a-z0-9_]+/g)].map(([name]) => {
    const suffix = SAMPLE_SUFFIXES.find((s) => name.endsWith(s));
    return suffix ? name.slice(0, -suffix.length) : name;
  });
}
