import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startedWithHugePages, withHugePages } from '../../runtime/huge-pages.ts';

/** The kernel's transparent huge page mode: [madvise] is the one where only asking gets them. */
const thpFile = '/sys/kernel/mm/transparent_hugepage/enabled';
const thpMode = existsSync(thpFile) ? /\[(\w+)\]/.exec(readFileSync(thpFile, 'utf8'))?.[1] : undefined;

/** Huge-page-backed anonymous memory of a child node that fills 64 MiB, in KiB. */
function childHugePages(env: NodeJS.ProcessEnv): number {
  const script = `const b = Buffer.alloc(64 << 20, 1); const m = /AnonHugePages:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/smaps_rollup', 'utf8')); console.log(m ? m[1] : 0, b[0]);`;
  return Number(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }).split(' ')[0]);
}

describe('huge pages for glibc malloc', () => {
  it('adds the tunable, keeping others and an explicit choice', () => {
    expect(withHugePages({}).GLIBC_TUNABLES).toBe('glibc.malloc.hugetlb=1');
    expect(withHugePages({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    const explicit = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' };
    expect(withHugePages(explicit)).toBe(explicit);
    expect(startedWithHugePages(explicit)).toBe(true);
    expect(startedWithHugePages({})).toBe(false);
  });

  it.runIf(process.platform === 'linux' && thpMode === 'madvise')('a child started with it gets huge pages where one without does not', () => {
    const env = { ...process.env, GLIBC_TUNABLES: '' };
    expect(childHugePages(env)).toBe(0);
    expect(childHugePages(withHugePages(env))).toBeGreaterThan(0);
  });
});
