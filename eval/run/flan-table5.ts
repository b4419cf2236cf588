import { join } from 'node:path';
import type { CompletionClient, RankScorer } from '../client/completion-client.ts';
import { FLAN_NORMALIZED_AVERAGE_PARTS } from '../scoring/normalized-average.ts';
import { planQa, type Plan } from './eval-plan.ts';
import { EvalUnavailableError, type EvalOptions } from './eval-options.ts';
import type { ExampleRecord, TaskResult } from './eval-result.ts';
import { runNormalizedScore } from './flan-normalized-average.ts';
import { describeReportedSet, summarizeTasks } from './paper-protocol.ts';
import { QA_SUITES } from './qa-suites.ts';

/** The suite that runs the paper's six parts in one go (`--suite flan`). */
export const FLAN_TABLE5_SUITE = 'flan';

/** The name of one part in a flan run's tasks: "mmlu/direct", "bbh/cot", ... */
export const partName = (suite: string, mode: string) => `${suite}/${mode}`;

/**
 * The six parts of the paper's normalised average as one run over one data directory holding
 * bbh/, mmlu/, tydiqa/ and mgsm/ in their public layouts. Each part is a task of the run: its metrics
 * are the part's score (averaged as the paper averages that benchmark), random baseline and
 * normalised score; the run's summary is the normalised average of the six, as in Table 5.
 */
export function planFlanTable5(options: EvalOptions, client: CompletionClient & RankScorer): Plan {
  if (options.tasks && options.tasks.length > 0) {
    throw new EvalUnavailableError("suite flan runs the paper's six parts, each over the paper's tasks: tasks cannot be chosen");
  }
  const parts = FLAN_NORMALIZED_AVERAGE_PARTS.map(([suite, mode]) => ({
    name: partName(suite, mode),
    suite,
    plan: planQa(options, client, QA_SUITES[suite], { suite, mode, dataDir: join(options.dataDir, suite) }),
  }));
  const summarizePart = (name: string, records: ExampleRecord[]): TaskResult => {
    const part = parts.find((p) => p.name === name)!;
    // runEval hands back a task's records in the order of its items, so item i's task names record i.
    const tasks: Record<string, TaskResult> = Object.fromEntries(
      part.plan.taskNames.map((task) => [task, part.plan.summarize(task, records.filter((_, i) => part.plan.items[i].task === task))]),
    );
    const summary = summarizeTasks(part.suite, tasks);
    const normalized = runNormalizedScore({ suite: part.suite, tasks }) ?? 0;
    return {
      metrics: { ...summary, normalized },
      examples: records,
      reportedSet: describeReportedSet(part.suite, part.plan.taskNames),
      taskMetrics: Object.fromEntries(Object.entries(tasks).map(([task, t]) => [task, t.metrics])),
    };
  };
  return {
    items: parts.flatMap((part) => part.plan.items.map((item) => ({ task: part.name, run: item.run }))),
    taskNames: parts.map((p) => p.name),
    summarize: summarizePart,
    summarizeRun: (tasks) => {
      const all = Object.values(tasks);
      return {
        normalized_average: all.reduce((sum, t) => sum + t.metrics.normalized, 0) / all.length,
        count: all.reduce((sum, t) => sum + t.metrics.count, 0),
      };
    },
    reportedSet: "the paper's six parts (Table 5): MMLU direct and CoT, BBH direct and CoT, TyDiQA direct, MGSM CoT; each task normalised against its own random baseline",
  };
}
