import type { EvalResult } from '../run/eval-result.ts';
import { primaryMetric } from './primary-metric.ts';
import { metricsTable, PAGE_STYLE } from './html-parts.ts';
import { escapeXml, renderBarChart } from './svg-bar-chart.ts';
import { renderTable5Html } from './table5-report.ts';

/** One self-contained page per run: what was measured, the per-task chart, and every metric. */
export function renderRunHtml(result: EvalResult): string {
  if (result.suite === 'flan') return renderTable5Html(result);
  const metric = primaryMetric(result.suite);
  const bars = Object.entries(result.tasks).map(([label, task]) => ({
    label,
    value: task.metrics[metric.name] ?? 0,
    ...(task.metrics.random_baseline !== undefined ? { reference: task.metrics.random_baseline } : {}),
  }));
  const title = `${result.suite} (${result.mode}): ${metric.name} by task`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeXml(`${result.model} on ${result.suite}`)}</title><style>${PAGE_STYLE}</style></head>
<body>
<h1>${escapeXml(result.model)} on ${escapeXml(result.suite)} (${escapeXml(result.mode)})</h1>
<p>Endpoint ${escapeXml(result.server)}; ran ${escapeXml(result.startedAt)} to ${escapeXml(result.finishedAt)}.${
    bars.some((b) => b.reference !== undefined) ? ' Dashed lines mark the random-guess baseline.' : ''
  }</p>
${result.reportedSet ? `<p class="reported-set">Covers ${escapeXml(result.reportedSet)}.</p>\n` : ''}<h2>Summary</h2>
${metricsTable([['all tasks', result.summary]])}
${renderBarChart(bars, { title, max: metric.max })}
<h2>Per task</h2>
${metricsTable(Object.entries(result.tasks).map(([name, t]) => [name, t.metrics]))}
</body></html>
`;
}
