import { describe, expect, it } from 'vitest';
import { compareRuns, renderComparisonHtml } from '../../eval/report/compare-runs.ts';
import { renderRunHtml } from '../../eval/report/html-report.ts';
import { renderBarChart } from '../../eval/report/svg-bar-chart.ts';
import type { EvalResult, TaskResult } from '../../eval/run/eval-result.ts';
import { macroAverage } from '../../eval/run/eval-result.ts';
import { flanNormalizedAverage } from '../../eval/run/flan-normalized-average.ts';

function task(accuracy: number, randomBaseline: number): TaskResult {
  return { metrics: { accuracy, random_baseline: randomBaseline, count: 10 }, examples: [] };
}

function result(suite: EvalResult['suite'], mode: EvalResult['mode'], tasks: Record<string, TaskResult>, model = 'flan-t5-small'): EvalResult {
  return { suite, mode, model, server: 'http://127.0.0.1:8080', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:10:00Z', tasks, summary: macroAverage(tasks) };
}

describe('macro average', () => {
  it('averages each shared metric over tasks and sums the counts', () => {
    expect(macroAverage({ a: task(50, 25), b: task(70, 50) })).toEqual({ accuracy: 60, random_baseline: 37.5, count: 20 });
  });
});

describe('SVG bar chart', () => {
  it('draws one bar per value at its share of the scale, a dashed reference, and escapes labels', () => {
    const svg = renderBarChart(
      [
        { label: 'a<b', value: 50, reference: 25 },
        { label: 'c', value: 100 },
      ],
      { title: 'T & U', max: 100 },
    );
    const widths = [...svg.matchAll(/class="bar"[^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).toEqual([200, 400]);
    expect(svg.match(/class="reference"/g)).toHaveLength(1);
    expect(svg).toContain('a&lt;b');
    expect(svg).toContain('<title>T &amp; U</title>');
  });
});

describe('run report', () => {
  it('is one HTML page with the chart and every task metric', () => {
    const html = renderRunHtml(result('bbh', 'cot', { navigate: task(80, 50), word_sorting: task(10, 0) }));
    expect(html).toContain('<svg');
    expect(html.match(/class="bar"/g)).toHaveLength(2);
    expect(html).toContain('data-label="navigate" data-value="80"');
    expect(html).toContain('<td>word_sorting</td>');
    expect(html).not.toMatch(/<script/);
  });
});

describe('before/after comparison', () => {
  it('compares the primary metric on the tasks both runs have', () => {
    const before = result('mmlu', 'direct', { anatomy: task(30, 25), virology: task(40, 25), law: task(20, 25) }, 'base');
    const after = result('mmlu', 'direct', { anatomy: task(45, 25), virology: task(35, 25) }, 'finetuned');
    const c = compareRuns(before, after);
    expect(c.tasks).toEqual([
      { task: 'anatomy', before: 30, after: 45, delta: 15 },
      { task: 'virology', before: 40, after: 35, delta: -5 },
    ]);
    expect(c.summary).toEqual({ before: 35, after: 40, delta: 5 });
    const html = renderComparisonHtml(c);
    expect(html.match(/class="bar"/g)).toHaveLength(4);
    expect(html).toContain('finetuned');
    expect(() => compareRuns(before, result('bbh', 'direct', {}))).toThrow(/cannot compare/);
  });
});

describe('Flan normalized average over runs', () => {
  it('normalises the six runs against their baselines and names the missing ones', () => {
    const runs = [
      result('mmlu', 'direct', { x: task(50, 25) }),
      result('mmlu', 'cot', { x: task(40, 25) }),
      result('bbh', 'direct', { x: task(60, 20), y: task(20, 0) }),
      result('mgsm', 'cot', { en: task(30, 0) }),
    ];
    const avg = flanNormalizedAverage(runs);
    // MMLU 50 -> 33.33, MMLU CoT 40 -> 20, BBH macro 40 vs 10 -> 33.33, MGSM 30 -> 30.
    expect(avg.parts.map((p) => p.normalized)).toEqual([expect.closeTo(100 / 3, 10), expect.closeTo(20, 10), expect.closeTo(100 / 3, 10), 30]);
    expect(avg.value).toBeCloseTo((100 / 3 + 20 + 100 / 3 + 30) / 4, 10);
    expect(avg.missing).toEqual(['bbh/cot', 'tydiqa/direct']);
  });
});
