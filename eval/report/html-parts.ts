import { escapeXml } from './svg-bar-chart.ts';

/** A table of metrics, one row per name; integers as they are, others to three decimals. */
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
