import type { QaTask } from '../../../eval/benchmarks/types.ts';

/**
 * The question a prompt ends with, read the way a model would: after the last "Q: " or header, up to
 * the open answer line. Independent of the harness's prompt builders on purpose.
 */
export function lastBbhQuestion(prompt: string): string {
  const last = prompt.slice(prompt.lastIndexOf('Q: ') + 3);
  return last.replace(/\nA:( Let's think step by step\.)?$/, '');
}

export function goldIndex(tasks: QaTask[]): Map<string, { target: string; task: QaTask }> {
  const index = new Map<string, { target: string; task: QaTask }>();
  for (const task of tasks) for (const e of task.examples) index.set(e.input, { target: e.targets[0], task });
  return index;
}

/** Standard error of an accuracy whose per-question chances are ps: sqrt(sum p(1-p)) / n. */
export function accuracyStdError(ps: number[]): number {
  return Math.sqrt(ps.reduce((s, p) => s + p * (1 - p), 0)) / ps.length;
}
