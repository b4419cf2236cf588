/**
 * glibc's malloc backs its heaps and large blocks with transparent huge pages when the tunable
 * glibc.malloc.hugetlb=1 is set (glibc 2.35 and later; the kernel's THP mode "madvise" honours it). A
 * process that touches gigabytes of fresh memory, as training does, then takes 512 times fewer page
 * faults, and each one is dear in a virtual machine: a flan-t5-small train step went from 3.4-4.9 s to
 * 2.8-3.6 s and the first from 17.7 s to 12.5 s here (a Firecracker VM). glibc reads the tunable when
 * the process starts, so it is set for the child processes we start; other libcs ignore it.
 */
const TUNABLE = 'glibc.malloc.hugetlb=1';

/** `env` with huge pages asked of glibc's malloc, keeping any other tunables (and an explicit hugetlb) it sets. */
export function withHugePages(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const current = env.GLIBC_TUNABLES ?? '';
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(current)) return env;
  return { ...env, GLIBC_TUNABLES: current ? `${current}:${TUNABLE}` : TUNABLE };
}

/** Whether this process was started with huge pages asked of glibc's malloc. */
export function startedWithHugePages(env: NodeJS.ProcessEnv = process.env): boolean {
  return withHugePages(env) === env;
}
