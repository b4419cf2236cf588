import { describe, expect, it } from 'vitest';
import { compareRuns, renderComparisonHtml } from '../../eval/report/compare-runs.ts';
import { renderRunHtml } from '../../eval/report/html-report.ts';
import { renderBarChart } from '../../eval/report/svg-bar-chart.ts';
import type { EvalResult, TaskResult } from '../../eval/run/eval-result.ts';
import { flanNormalizedAverage, runNormalizedScore } from '../../eval/run/flan-normalized-average.ts';
import { summarizeTasks } from '../../eval/run/paper-protocol.ts';
import { QA_SUITES } from '../../eval/run/qa-suites.ts';
import { HAVE_SHARED_BENCHMARKS, SHARED_BENCHMARKS, SHARED_SKIP_MESSAGE } from './helpers/shared-benchmarks.ts';

function task(accuracy: number, randomBaseline: number, count = 10): TaskResult {
  return { metrics: { accuracy, random_baseline: randomBaseline, count }, examples: [] };
}

function result(suite: EvalResult['suite'], mode: EvalResult['mode'], tasks: Record<string, TaskResult>, model = 'flan-t5-small'): EvalResult {
  return { suite, mode, model, server: 'http://127.0.0.1:8080', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:10:00Z', tasks, summary: summarizeTasks(suite, tasks) };
}

describe('run summary', () => {
  it('averages each shared metric over tasks and sums the counts', () => {
    expect(summarizeTasks('bbh', { a: task(50, 25), b: task(70, 50, 30) })).toEqual({ accuracy: 60, random_baseline: 37.5, count: 40 });
  });

  it('averages MMLU over questions, as the Flan-T5 MMLU script does', () => {
    // 10 questions at 50% and 30 at 70%: 26 of 40 right.
    expect(summarizeTasks('mmlu', { a: task(50, 25), b: task(70, 25, 30) })).toEqual({ accuracy: 65, random_baseline: 25, count: 40 });
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
    // MMLU 50 -> 33.33, MMLU CoT 40 -> 20, BBH per task (60 vs 20 -> 50, 20 vs 0 -> 20) -> 35, MGSM 30 -> 30.
    expect(avg.parts.map((p) => p.normalized)).toEqual([expect.closeTo(100 / 3, 10), expect.closeTo(20, 10), expect.closeTo(35, 10), 30]);
    expect(avg.value).toBeCloseTo((100 / 3 + 20 + 35 + 30) / 4, 10);
    expect(avg.missing).toEqual(['bbh/cot', 'tydiqa/direct']);
  });
});

describe('normalisation of each task against its own random baseline', () => {
  it('normalises BBH task by task, then averages (hand-computed)', () => {
    // free-form (baseline 0) at 100%, a two-option task at chance, a four-option task at 40%:
    // (100 - 0) / 100 = 100; (50 - 50) / 50 = 0; (40 - 25) / 75 = 20; mean 40. Normalising the macro
    // accuracy (63.33) against the macro baseline (25) would give 51.11.
    const run = result('bbh', 'direct', { free: task(100, 0), binary: task(50, 50), four: task(40, 25) });
    expect(runNormalizedScore(run)).toBeCloseTo(40, 10);
    expect(flanNormalizedAverage([run]).parts[0].normalized).toBeCloseTo(40, 10);
  });

  it.skipIf(!HAVE_SHARED_BENCHMARKS)(`gives 100% on BBH's free-form tasks and chance elsewhere its share of tasks (${SHARED_SKIP_MESSAGE})`, () => {
    const bbh = QA_SUITES.bbh.load(`${SHARED_BENCHMARKS}/bbh`);
    const tasks = Object.fromEntries(
      bbh.map((t) => {
        const baseline = (100 * t.examples.reduce((s, e) => s + QA_SUITES.bbh.randomBaseline(t, e), 0)) / t.examples.length;
        return [t.name, task(baseline === 0 ? 100 : baseline, baseline, t.examples.length)];
      }),
    );
    const freeForm = Object.values(tasks).filter((t) => t.metrics.random_baseline === 0).length;
    expect(freeForm).toBe(4);
    // 4 of 27 tasks perfect, the rest at chance: 4 / 27 = 14.81, not the 20.19 of the macro-level formula.
    expect(runNormalizedScore(result('bbh', 'direct', tasks))).toBeCloseTo((100 * freeForm) / bbh.length, 10);
    expect(bbh.length).toBe(27);
  });
});
