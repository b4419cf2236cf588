import type { Suite } from '../benchmarks/types.ts';
import type { CompletionClient, RankScorer } from '../client/completion-client.ts';
import { promptStyle, type Mode } from '../prompting/modes.ts';
import type { ExampleRecord, TaskResult } from './eval-result.ts';
import { DEFAULT_SC_SAMPLES, DEFAULT_SC_TEMPERATURE, type EvalOptions } from './eval-options.ts';
import { evaluateQuestion, summarizeQaTask } from './qa-evaluator.ts';
import type { QaSuiteSpec } from './qa-suites.ts';

/** One unit of work: one question, prompt or comment, answered by one or a few requests. */
export interface WorkItem {
  task: string;
  run: (signal?: AbortSignal) => Promise<ExampleRecord>;
}

export interface Plan {
  items: WorkItem[];
  summarize: (task: string, records: ExampleRecord[]) => TaskResult;
  taskNames: string[];
  /** The run's summary when it is not the suite's average of its tasks (the six parts' normalised average). */
  summarizeRun?: (tasks: Record<string, TaskResult>) => Record<string, number>;
  /** What the run covers, when describeReportedSet cannot say it. */
  reportedSet?: string;
}

export function limited<T>(items: T[], limit: number | undefined): T[] {
  return limit === undefined ? items : items.slice(0, limit);
}

/** Where a QA plan reads from and how it asks: a run's own suite and mode, or one part of the six. */
export interface QaPart {
  suite: Suite;
  mode: Mode;
  dataDir: string;
}

export function planQa(options: EvalOptions, client: CompletionClient & RankScorer, spec: QaSuiteSpec, part: QaPart): Plan {
  const { suite, mode } = part;
  const tasks = spec.load(part.dataDir, options.tasks);
  const rank = options.scoring === 'rank' ? client : undefined;
  const sampling = { samples: options.samples ?? DEFAULT_SC_SAMPLES, temperature: options.temperature ?? DEFAULT_SC_TEMPERATURE };
  const items = tasks.flatMap((task) =>
    limited(task.examples, options.limit).map((example) => {
      // Build the prompt now so a mode the data cannot support fails before any request is sent.
      spec.prompt(task, example, promptStyle(mode));
      return { task: task.name, run: (signal?: AbortSignal) => evaluateQuestion(client, spec, task, example, mode, sampling, signal, rank) };
    }),
  );
  return { items, taskNames: tasks.map((t) => t.name), summarize: (_, records) => summarizeQaTask(records, suite === 'tydiqa') };
}
