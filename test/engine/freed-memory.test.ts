import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const glibc = Boolean((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);
const moduleUrl = new URL('../../runtime/freed-memory.ts', import.meta.url).href;

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

/** Without --expose-gc: 256 MiB of arrays dropped, and nothing allocated after that would make V8 collect them. */
const uncollected = `
import { readFileSync } from 'node:fs';
const { returnFreedMemory } = await import(${JSON.stringify(moduleUrl)});
const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
let weights = Array.from({ length: 64 }, () => new Float32Array(1 << 20).fill(1));
weights = null;
const before = rss();
returnFreedMemory();
console.log(JSON.stringify({ before, after: rss(), exposed: typeof globalThis.gc }));
`;

describe('returnFreedMemory', () => {
  it.skipIf(!glibc)('collects arrays nobody holds before trimming, as an idle server never would', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', uncollected], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
    });
    const { before, after, exposed } = JSON.parse(out.trim().split('\n').at(-1)!) as { before: number; after: number; exposed: string };
    expect(before - after).toBeGreaterThan(50);
    expect(exposed).toBe('undefined'); // the page's own global is not changed
  });

  it.skipIf(!glibc)('gives freed heap pages back to the kernel (glibc keeps them otherwise)', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
    });
    const { trimmed, before, after } = JSON.parse(out.trim().split('\n').at(-1)!) as { trimmed: boolean; before: number; after: number };
    expect(trimmed).toBe(true);
    expect(before - after).toBeGreaterThan(50);
  });
});
