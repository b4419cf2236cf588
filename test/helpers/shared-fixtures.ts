import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** ../shared beside the repository: fixtures and benchmarks that are read in place, never copied. */
export const sharedDir = fileURLToPath(new URL('../../../shared', import.meta.url));
export const hasShared = existsSync(sharedDir);
export const referenceDir = `${sharedDir}/fixtures/t5-reference`;
export const tokenizerDir = `${sharedDir}/fixtures/t5-tokenizer`;
export const referenceModels = ['t5-tiny-flan-f32', 't5-tiny-flan-bf16', 't5-tiny-v1_0-tied'] as const;
/** Checkpoints written by transformers 5.18 itself, with its own outputs (see that folder's README). */
export const hf5Dir = `${sharedDir}/fixtures/t5-hf5`;
export const hf5Models = ['t5-tiny-flan-hf5', 't5-tiny-v1_0-hf5', 't5-tiny-flan-hf5-resaved'] as const;

if (!hasShared) {
  console.warn(`[flan-serve tests] ${sharedDir} is absent: tests that need the shared fixtures are skipped.`);
}

/** Norm of the difference over norm of the reference, the measure the conformance bounds use. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    ref += expected[i] ** 2;
  }
  return Math.sqrt(diff / ref);
}

export function rowsOf<T>(flat: ArrayLike<T>, width: number): T[][] {
  const rows: T[][] = [];
  for (let i = 0; i < flat.length; i += width) rows.push(Array.from({ length: width }, (_, j) => flat[i + j]));
  return rows;
}
