import type { EvalResult } from '../run/eval-result.ts';
import { metricsTable, PAGE_STYLE } from './html-parts.ts';
import { primaryMetric } from './primary-metric.ts';
import { escapeXml, renderBarChart } from './svg-bar-chart.ts';

export interface RunComparison {
  suite: EvalResult['suite'];
  mode: EvalResult['mode'];
  metric: string;
  higherIsBetter: boolean;
  before: { model: string; startedAt: string };
  after: { model: string; startedAt: string };
  /** Tasks both runs measured; a task only one of them has would compare nothing. */
  tasks: { task: string; before: number; after: number; delta: number }[];
  summary: { before: number; after: number; delta: number };
}

/** Before/after on the suite's primary metric, task by task (e.g. a model before and after a finetune). */
export function compareRuns(before: EvalResult, after: EvalResult): RunComparison {
  if (before.suite !== after.suite) throw new Error(`cannot compare a ${before.suite} run with a ${after.suite} run`);
  const { name, higherIsBetter } = primaryMetric(before.suite);
  const tasks = Object.keys(before.tasks)
    .filter((t) => t in after.tasks)
    .map((task) => {
      const b = before.tasks[task].metrics[name] ?? 0;
      const a = after.tasks[task].metrics[name] ?? 0;
      return { task, before: b, after: a, delta: a - b };
    });
  const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
  const b = mean(tasks.map((t) => t.before));
  const a = mean(tasks.map((t) => t.after));
  return {
    suite: before.suite,
    mode: before.mode,
    metric: name,
    higherIsBetter,
    before: { model: before.model, startedAt: before.startedAt },
    after: { model: after.model, startedAt: after.startedAt },
    tasks,
    summary: { before: b, after: a, delta: a - b },
  };
}

export function renderComparisonHtml(c: RunComparison): string {
  const label = (r: { model: string; startedAt: string }) => `${r.model} @ ${r.startedAt}`;
  const chart = renderBarChart(
    c.tasks.map((t) => ({ label: t.task, value: t.before, second: t.after })),
    { title: `${c.suite} (${c.mode}): ${c.metric}, before and after`, max: primaryMetric(c.suite).max, series: [label(c.before), label(c.after)] },
  );
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeXml(`${c.suite}: before/after`)}</title><style>${PAGE_STYLE}</style></head>
<body>
<h1>${escapeXml(c.suite)} (${escapeXml(c.mode)}): ${escapeXml(c.metric)}, before and after</h1>
<p>Before: ${escapeXml(label(c.before))}. After: ${escapeXml(label(c.after))}. ${c.higherIsBetter ? 'Higher' : 'Lower'} is better.</p>
${metricsTable([['mean over tasks', c.summary], ...c.tasks.map((t): [string, Record<string, number>] => [t.task, { before: t.before, after: t.after, delta: t.delta }])])}
${chart}
</body></html>
`;
}
