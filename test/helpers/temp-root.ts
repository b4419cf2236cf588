import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * Each test file gets its own temporary root (TMPDIR, which os.tmpdir() and the processes a test
 * starts read), removed after the file: model directories, version stores and servers' data dirs made
 * with mkdtemp were left behind, hundreds per run (/tmp reached 75 GiB and filled the disk).
 */
const root = mkdtempSync(join(tmpdir(), 'flan-test-'));
process.env.TMPDIR = root;

afterAll(() => {
  // A child process still winding down may write into it; what it leaves is not worth failing the file.
  rmSync(root, { recursive: true, force: true, maxRetries: 3 });
});
