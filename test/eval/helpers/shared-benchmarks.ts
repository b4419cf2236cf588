import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** <repo>/../shared/benchmarks, absent in a fresh clone; suites that need it skip with this message. */
export const SHARED_BENCHMARKS = join(repoRoot, '..', 'shared', 'benchmarks');
export const HAVE_SHARED_BENCHMARKS = existsSync(join(SHARED_BENCHMARKS, 'bbh')) && existsSync(join(SHARED_BENCHMARKS, 'mgsm'));
export const SHARED_SKIP_MESSAGE = `skipped: ${SHARED_BENCHMARKS} (BBH and MGSM) is absent; it ships beside the repository, not in it`;

export const FIXTURES = join(repoRoot, 'test', 'eval', 'fixtures');
