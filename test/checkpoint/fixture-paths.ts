import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import { ModelLoadError } from '../../runtime/checkpoint/model-load-error.ts';

/** Fixtures are read in place from ../shared beside the repository (never copied into it). */
export const fixturesDir = fileURLToPath(new URL('../../../shared/fixtures', import.meta.url));
export const hasFixtures = existsSync(fixturesDir);
export const referenceDir = join(fixturesDir, 't5-reference');
export const t5TokenizerDir = join(fixturesDir, 't5-tokenizer');
export const f32Dir = join(referenceDir, 't5-tiny-flan-f32');
export const bf16Dir = join(referenceDir, 't5-tiny-flan-bf16');
export const tiedDir = join(referenceDir, 't5-tiny-v1_0-tied');

if (!hasFixtures) {
  console.warn(`[test/checkpoint] ${fixturesDir} is absent: fixture-based checkpoint tests are skipped.`);
}

/** A fresh temporary directory, removed after the test file finishes. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flan-serve-checkpoint-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Asserts that `load` throws a ModelLoadError naming `fileName` with a message matching `problem`. */
export function expectLoadError(load: () => unknown, fileName: string, problem: RegExp): ModelLoadError {
  let caught: unknown;
  try {
    load();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ModelLoadError);
  const err = caught as ModelLoadError;
  expect(basename(err.file)).toBe(fileName);
  expect(err.message).toContain(fileName);
  expect(err.message).toMatch(problem);
  return err;
}
