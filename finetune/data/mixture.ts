import type { SeededRandom } from '../../runtime/seeded-random.ts';
import type { InstructionExample } from './instruction-example.ts';

/**
 * Examples-proportional mixing with a per-task cap (T5 / Flan): a task is sampled with probability
 * proportional to min(its example count, cap), so large tasks do not drown small ones.
 */
export class TaskMixture {
  readonly tasks: string[];
  readonly byTask: Map<string, InstructionExample[]>;
  private readonly cumulative: number[];

  constructor(examples: readonly InstructionExample[], readonly cap = Number.POSITIVE_INFINITY) {
    if (examples.length === 0) throw new Error('a mixture needs at least one example');
    this.byTask = new Map();
    for (const e of examples) {
      let list = this.byTask.get(e.task);
      if (!list) this.byTask.set(e.task, (list = []));
      list.push(e);
    }
    this.tasks = [...this.byTask.keys()].sort();
    let total = 0;
    this.cumulative = this.tasks.map((t) => (total += Math.min(this.byTask.get(t)!.length, cap)));
  }

  /** Each task's sampling rate. */
  rates(): Record<string, number> {
    const total = this.cumulative[this.cumulative.length - 1];
    return Object.fromEntries(this.tasks.map((t, i) => [t, (this.cumulative[i] - (i ? this.cumulative[i - 1] : 0)) / total]));
  }

  sample(rng: SeededRandom): InstructionExample {
    const total = this.cumulative[this.cumulative.length - 1];
    const x = rng.next() * total;
    const task = this.tasks[this.cumulative.findIndex((c) => x < c)];
    const list = this.byTask.get(task)!;
    return list[rng.int(list.length)];
  }
}
