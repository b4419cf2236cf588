import type { EvalResult } from '../run/eval-result.ts';
import { primaryMetric } from './primary-metric.ts';
import { escapeXml, renderBarChart } from './svg-bar-chart.ts';

export function metricsTable(rows: [string, Record<string, number>][]): string {
  const columns = [...new Set(rows.flatMap(([, m]) => Object.keys(m)))];
  const cell = (v: number | undefined) => (v === undefined ? '' : Number.isInteger(v) ? String(v) : v.toFixed(3));
  return [
    '<table>',
    `<tr><th>task</th>${columns.map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr>`,
    ...rows.map(([name, m]) => `<tr><td>${escapeXml(name)}</td>${columns.map((c) => `<td>${cell(m[c])}</td>`).join('')}</tr>`),
    '</table>',
  ].join('\n');
}

export const PAGE_STYLE =
  'body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child,th:first-child{text-align:left}';

/** One self-contained page per run: what was measured, the per-task chart, and every metric. */
export function renderRunHtml(result: EvalResult): string {
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
