import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const glibc = Boolean((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);
const moduleUrl = new URL('../../runtime/freed-memory.ts', import.meta.url).href;

/** Runs an ES module script in a child node (through tsx, with `flags`) and parses the JSON of its last line. */
function runChild<T>(script: string, flags: string[] = []): T {
  const out = execFileSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as T;
}

/**
 * In a child with --expose-gc: 200 MiB of small buffers are freed below one that stays, so glibc cannot
 * give them back by shrinking its heap's top; resident MiB before and after returnFreedMemory().
 */
const script = `
import { readFileSync } from 'node:fs';
const { returnFreedMemory } = await import(${JSON.stringify(moduleUrl)});
const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
let chunks = Array.from({ length: 100_000 }, () => new Uint8Array(2048).fill(1));
const pin = new Uint8Array(2048).fill(1);
chunks = null;
globalThis.gc();
globalThis.gc();
const before = rss();
const trimmed = returnFreedMemory();
console.log(JSON.stringify({ trimmed, before, after: rss(), pin: pin[0] }));
`;

/**
 * Without --expose-gc: an array nobody holds, after a turn of the loop with nothing allocated, is still
 * there (an idle server never makes V8 collect) until returnFreedMemory runs.
 */
const uncollected = `
const { returnFreedMemory } = await import(${JSON.stringify(moduleUrl)});
let ref;
(() => { ref = new WeakRef(new Float32Array(16 << 20).fill(1)); })();
await new Promise((resolve) => setTimeout(resolve, 50));
const before = ref.deref() !== undefined;
// deref() keeps its target alive to the end of this job: the trim comes in the next one.
await new Promise((resolve) => setTimeout(resolve, 0));
returnFreedMemory();
console.log(JSON.stringify({ before, after: ref.deref() !== undefined, exposed: typeof globalThis.gc }));
`;

/** An array dropped before a burst's end: collected after a second's pause, long before the trim. */
const collectedEarly = `
const { returnFreedMemoryWhenIdle } = await import(${JSON.stringify(moduleUrl)});
let ref;
(() => { ref = new WeakRef(new Float32Array(16 << 20).fill(1)); })();
await new Promise((resolve) => setTimeout(resolve, 0));
returnFreedMemoryWhenIdle(60_000);
await new Promise((resolve) => setTimeout(resolve, 1500));
console.log(JSON.stringify({ collected: ref.deref() === undefined }));
`;

/**
 * With --expose-gc: minor page faults of filling an 8 MiB array the second time, after the first was freed.
 * Run with --single-threaded-gc: V8 otherwise frees array buffers on a background sweeper thread, and on a
 * busy machine (CI's two cores) the second array was allocated before the first was freed (2048 faults).
 */
const refill = (keep: boolean) => `
import { readFileSync } from 'node:fs';
const { keepFreedMemoryForReuse } = await import(${JSON.stringify(moduleUrl)});
const faults = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
const taken = ${keep} ? keepFreedMemoryForReuse() : false;
let a = new Float32Array(2 << 20).fill(1);
a = null;
globalThis.gc();
const before = faults();
const b = new Float32Array(2 << 20).fill(1);
console.log(JSON.stringify({ taken, faults: faults() - before, b: b[0] }));
`;

/**
 * Without --expose-gc: 50 times, 64 MiB of arrays are dropped and collectGarbage() runs; how many times
 * their memory was still allocated when it returned. V8 frees it on a background sweeper thread after a
 * collection, and the trim that follows a collection gives back only what is freed by then.
 */
const sweptBeforeReturn = `
const { collectGarbage } = await import(${JSON.stringify(moduleUrl)});
let late = 0;
for (let trial = 0; trial < 50; trial++) {
  let arrays = Array.from({ length: 256 }, () => new Float32Array(1 << 16).fill(1));
  arrays = null;
  collectGarbage();
  if (process.memoryUsage().arrayBuffers > 16 * 2 ** 20) late += 1;
}
console.log(JSON.stringify({ late }));
`;

describe('keepFreedMemoryForReuse', () => {
  it.skipIf(!glibc)('a freed block is reused without faulting its pages in again', () => {
    const run = (keep: boolean) => runChild<{ taken: boolean; faults: number }>(refill(keep), ['--expose-gc', '--single-threaded-gc']);
    const kept = run(true);
    expect(kept.taken).toBe(true);
    expect(kept.faults).toBeLessThan(256); // 8 MiB is 2048 pages
    expect(run(false).faults).toBeGreaterThan(1024); // glibc's defaults: mapped afresh
  });
});

describe('returnFreedMemory', () => {
  it.skipIf(!glibc)('collects arrays nobody holds before trimming, as an idle server never would', () => {
    const { before, after, exposed } = runChild<{ before: boolean; after: boolean; exposed: string }>(uncollected);
    expect(before).toBe(true);
    expect(after).toBe(false);
    expect(exposed).toBe('undefined'); // the page's own global is not changed
  });

  it('when the trim waits longer than a second, arrays nobody holds are collected after a second', () => {
    expect(runChild<{ collected: boolean }>(collectedEarly).collected).toBe(true);
  });

  it('frees the arrays it collects before it trims, though V8 frees them on a background thread', () => {
    expect(runChild<{ late: number }>(sweptBeforeReturn).late).toBe(0);
  });

  it.skipIf(!glibc)('gives freed heap pages back to the kernel (glibc keeps them otherwise)', () => {
    const { trimmed, before, after } = runChild<{ trimmed: boolean; before: number; after: number }>(script, ['--expose-gc']);
    expect(trimmed).toBe(true);
    expect(before - after).toBeGreaterThan(50);
  });
});
