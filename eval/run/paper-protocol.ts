import type { Suite } from '../benchmarks/types.ts';
import type { TaskResult } from './eval-result.ts';

/**
 * How the Flan paper (Chung et al. 2022, §2.3 and its appendix tables) reports each benchmark: which
 * tasks make up a benchmark's number and how they are averaged. Every report prints what it used.
 */
export interface ReportedSet {
  /** The tasks the paper's number covers, when it is a fixed set (languages); all tasks otherwise. */
  tasks?: readonly string[];
  /** 'tasks': the mean of the tasks' scores; 'questions': every question weighs the same. */
  averaging: 'tasks' | 'questions';
  /** Where the choice comes from, printed in reports. */
  source: string;
}

export const PAPER_REPORTED_SETS: Partial<Record<Suite, ReportedSet>> = {
  // "TyDiQA ... across 8 typologically diverse languages": TyDiQA-GoldP's nine without English.
  tydiqa: {
    tasks: ['arabic', 'bengali', 'finnish', 'indonesian', 'korean', 'russian', 'swahili', 'telugu'],
    averaging: 'tasks',
    source: 'Flan §2.3: TyDiQA-GoldP across 8 typologically diverse languages (English excluded), mean over languages',
  },
  // "MGSM ... math word problems from Cobbe et al. manually translated into 10 languages".
  mgsm: {
    tasks: ['bn', 'de', 'es', 'fr', 'ja', 'ru', 'sw', 'te', 'th', 'zh'],
    averaging: 'tasks',
    source: 'Flan §2.3: MGSM in its 10 translated languages (English excluded), mean over languages',
  },
  // Hendrycks et al.'s evaluate_flan.py (the Flan-T5 MMLU script) reports np.mean over all questions.
  mmlu: { averaging: 'questions', source: "Hendrycks et al.'s evaluate_flan.py: accuracy over all questions of the 57 subjects" },
  bbh: { averaging: 'tasks', source: 'Suzgun et al. / Flan: mean over BBH tasks' },
};

/** The averaging a suite's summary uses: the paper's where it says, the mean over tasks otherwise. */
export function averagingOf(suite: Suite): ReportedSet['averaging'] {
  return PAPER_REPORTED_SETS[suite]?.averaging ?? 'tasks';
}

/**
 * The tasks a run covers when the caller names none: the paper's set where it has one, restricted to
 * what the data holds (a partial data directory still runs, and its report says which tasks it had).
 */
export function defaultTasks(suite: Suite, available: readonly string[]): string[] {
  const paper = PAPER_REPORTED_SETS[suite]?.tasks;
  if (!paper) return [...available];
  const present = available.filter((t) => paper.includes(t));
  return present.length > 0 ? present : [...available];
}

/**
 * The summary of a run: every metric the tasks share, averaged as the suite's number is averaged
 * (over tasks, or over questions, weighting each task by its `count`); `count` is the total.
 */
export function summarizeTasks(suite: Suite, tasks: Record<string, TaskResult>): Record<string, number> {
  const all = Object.values(tasks);
  const names = all.length === 0 ? [] : Object.keys(all[0].metrics).filter((m) => all.every((t) => m in t.metrics) && m !== 'count');
  const weight = (t: TaskResult) => (averagingOf(suite) === 'questions' ? (t.metrics.count ?? 0) : 1);
  const total = all.reduce((sum, t) => sum + weight(t), 0);
  const summary: Record<string, number> = Object.fromEntries(
    names.map((m) => [m, total === 0 ? 0 : all.reduce((sum, t) => sum + weight(t) * t.metrics[m], 0) / total]),
  );
  summary.count = all.reduce((sum, t) => sum + (t.metrics.count ?? 0), 0);
  return summary;
}

/** One line for reports: the tasks a run's number covers and how they were averaged. */
export function describeReportedSet(suite: Suite, taskNames: readonly string[]): string {
  const set = PAPER_REPORTED_SETS[suite];
  const how = averagingOf(suite) === 'questions' ? 'averaged over questions' : 'averaged over tasks';
  return `${taskNames.length} tasks (${taskNames.join(', ')}), ${how}${set ? `; ${set.source}` : ''}`;
}
