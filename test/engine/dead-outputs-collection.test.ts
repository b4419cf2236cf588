import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { collectDeadOutputs, outputsHandedBack } from '../../runtime/freed-memory.ts';

const MiB = 2 ** 20;
const gcEntries: PerformanceEntry[] = [];
const observer = new PerformanceObserver((list) => gcEntries.push(...list.getEntries()));
observer.observe({ entryTypes: ['gc'] });
afterAll(() => observer.disconnect());

/** The young-generation collections V8 ran while `body` ran (entries arrive after it, asynchronously). */
async function youngCollectionsDuring(body: () => void): Promise<number> {
  const from = performance.now();
  body();
  const to = performance.now();
  await new Promise((r) => setTimeout(r, 20));
  return gcEntries.filter((e) => e.startTime >= from && e.startTime <= to && (e as PerformanceEntry & { detail?: { kind: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR).length;
}

describe('collectDeadOutputs', () => {
  it('collects the young generation before a run once 8 MiB of outputs were handed back, and not before', async () => {
    expect(await youngCollectionsDuring(() => (outputsHandedBack(5 * MiB), collectDeadOutputs()))).toBe(0);
    expect(await youngCollectionsDuring(() => (outputsHandedBack(4 * MiB), collectDeadOutputs()))).toBe(1);
    // The count starts over after a collection.
    expect(await youngCollectionsDuring(() => collectDeadOutputs())).toBe(0);
    expect(await youngCollectionsDuring(() => (outputsHandedBack(8 * MiB), collectDeadOutputs()))).toBe(1);
  });
});
