import type { EvalResult } from '../run/eval-result.ts';
import { metricsTable, PAGE_STYLE } from './html-parts.ts';
import { escapeXml, renderBarChart } from './svg-bar-chart.ts';

const PART_TITLES: Record<string, string> = {
  'mmlu/direct': 'MMLU Direct',
  'mmlu/cot': 'MMLU CoT',
  'bbh/direct': 'BBH Direct',
  'bbh/cot': 'BBH CoT',
  'tydiqa/direct': 'TyDiQA Direct',
  'mgsm/cot': 'MGSM CoT',
};

const fixed = (v: number | undefined) => (v === undefined ? '' : v.toFixed(1));

/**
 * A `flan` run as the paper's Table 5 lays it out: one column per part and the normalised average,
 * with each part's raw score, random baseline and normalised score, then what each part covers.
 */
export function renderTable5Html(result: EvalResult): string {
  const parts = Object.entries(result.tasks);
  const row = (label: string, metric: string) =>
    `<tr><td>${label}</td>${parts.map(([, t]) => `<td>${fixed(t.metrics[metric])}</td>`).join('')}<td>${metric === 'normalized' ? fixed(result.summary.normalized_average) : ''}</td></tr>`;
  const chart = renderBarChart(
    parts.map(([name, t]) => ({ label: PART_TITLES[name] ?? name, value: t.metrics.normalized })),
    { title: 'normalised score by part', max: 100 },
  );
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeXml(`${result.model}: Flan normalised average`)}</title><style>${PAGE_STYLE}</style></head>
<body>
<h1>${escapeXml(result.model)}: the six parts of the Flan normalised average</h1>
<p>Endpoint ${escapeXml(result.server)}; ran ${escapeXml(result.startedAt)} to ${escapeXml(result.finishedAt)}. Covers ${escapeXml(result.reportedSet ?? '')}.</p>
<table class="table5">
<tr><th></th>${parts.map(([name]) => `<th>${escapeXml(PART_TITLES[name] ?? name)}</th>`).join('')}<th>Norm. avg.</th></tr>
${row('score', 'accuracy')}
${row('random baseline', 'random_baseline')}
${row('normalised', 'normalized')}
</table>
${chart}
${parts
  .map(
    ([name, t]) => `<h2>${escapeXml(PART_TITLES[name] ?? name)}</h2>
<p class="reported-set">Covers ${escapeXml(t.reportedSet ?? '')}.</p>
${metricsTable(Object.entries(t.taskMetrics ?? {}))}`,
  )
  .join('\n')}
</body></html>
`;
}
