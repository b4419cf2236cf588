import { existsSync, readFileSync } from 'node:fs';

/** Benchmark files are read whole: the largest public ones (MMLU test, TyDiQA dev) are a few MB. */
export function readText(path: string, what: string): string {
  if (!existsSync(path)) throw new BenchmarkDataError(`${what}: ${path} does not exist`);
  return readFileSync(path, 'utf8');
}

/** A benchmark directory that is missing or not in the public format; the message names the file. */
export class BenchmarkDataError extends Error {
  override name = 'BenchmarkDataError';
}
