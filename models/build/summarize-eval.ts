/**
 * Reads the JSON files models/build/evaluate.sh leaves (one directory per model) and prints the model
 * cards' results table in markdown: held-in exact match, held-out normalized score, direct and CoT,
 * and greedy CoT against self-consistency on the arithmetic families.
 *
 *   npx tsx models/build/summarize-eval.ts LABEL=DIR [LABEL=DIR ...]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLAIN_FAMILIES } from '../../eval/benchmarks/synthetic-suite.ts';
import { ARITHMETIC_FAMILIES, isHeldOut } from '../../finetune/data/synthetic/index.ts';

type Metrics = Record<string, { accuracy: number; random_baseline: number; count: number }>;

function read(dir: string, run: string): Metrics | undefined {
  const file = join(dir, `${run}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Metrics) : undefined;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
/** The paper's normalization: 0 is a uniform guess, 100 is perfect. */
const normalized = (m: { accuracy: number; random_baseline: number }) => ((m.accuracy - m.random_baseline) / (100 - m.random_baseline)) * 100;

function average(metrics: Metrics | undefined, keep: (task: string) => boolean, score: (m: Metrics[string]) => number): string {
  if (!metrics) return '-';
  const tasks = Object.keys(metrics).filter(keep);
  return tasks.length ? `${mean(tasks.map((t) => score(metrics[t]))).toFixed(1)} (${tasks.length})` : '-';
}

const runs = process.argv.slice(2).map((arg) => {
  const [label, dir] = arg.split('=');
  return { label, dir };
});
const heldIn = (t: string) => !isHeldOut(t);
const arithmetic = (t: string) => ARITHMETIC_FAMILIES.includes(t);
const accuracy = (m: Metrics[string]) => m.accuracy;

console.log('| model | held-in EM, direct | held-in EM, CoT | held-out normalized, direct | held-out normalized, CoT | arithmetic, greedy CoT | arithmetic, CoT + SC k=8 |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const { label, dir } of runs) {
  const direct = read(dir, 'direct');
  const cot = read(dir, 'cot');
  console.log(
    `| ${label} | ${average(direct, heldIn, accuracy)} | ${average(cot, heldIn, accuracy)} | ${average(direct, isHeldOut, normalized)} | ` +
      `${average(cot, isHeldOut, normalized)} | ${average(read(dir, 'cot-arithmetic'), arithmetic, accuracy)} | ${average(read(dir, 'cot-sc-arithmetic'), arithmetic, accuracy)} |`,
  );
}
console.log('\nPer family (direct / CoT accuracy, %):\n');
const families = [...new Set(runs.flatMap(({ dir }) => Object.keys(read(dir, 'direct') ?? {})))];
console.log(`| family | ${runs.map((r) => r.label).join(' | ')} |`);
console.log(`| --- | ${runs.map(() => '---').join(' | ')} |`);
for (const f of families) {
  const cells = runs.map(({ dir }) => {
    const d = read(dir, 'direct')?.[f]?.accuracy;
    const c = read(dir, 'cot')?.[f]?.accuracy;
    return `${d === undefined ? '-' : d.toFixed(0)} / ${c === undefined ? '-' : c.toFixed(0)}`;
  });
  console.log(`| ${f}${isHeldOut(f) ? ' (held out)' : ''} | ${cells.join(' | ')} |`);
}

// Plain phrasings (evaluate.sh's phrasings-seen / phrasings-unseen runs), where a run has them.
const phrased = runs.filter(({ dir }) => read(dir, 'phrasings-unseen'));
if (phrased.length > 0) {
  const family = (task: string) => task.split('@')[0];
  const plain = (t: string) => PLAIN_FAMILIES.includes(family(t));
  console.log('\nHeld-in families asked plainly (direct, greedy, EM %; "unseen": held-out phrasings never trained):\n');
  console.log('| model | seen phrasings | unseen phrasings | unseen phrasings, the six plain families | arithmetic (addition, multiplication), unseen |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const { label, dir } of phrased) {
    const unseen = read(dir, 'phrasings-unseen');
    console.log(
      `| ${label} | ${average(read(dir, 'phrasings-seen'), () => true, accuracy)} | ${average(unseen, () => true, accuracy)} | ` +
        `${average(unseen, plain, accuracy)} | ${average(unseen, (t) => ['addition', 'multiplication'].includes(family(t)), accuracy)} |`,
    );
  }
  console.log(`\n| family (seen / unseen) | ${phrased.map((r) => r.label).join(' | ')} |`);
  console.log(`| --- | ${phrased.map(() => '---').join(' | ')} |`);
  const names = [...new Set(phrased.flatMap(({ dir }) => Object.keys(read(dir, 'phrasings-unseen') ?? {}).map(family)))];
  for (const f of names) {
    const cell = (dir: string, set: string) => read(dir, `phrasings-${set}`)?.[`${f}@${set}`]?.accuracy.toFixed(0) ?? '-';
    console.log(`| ${f} | ${phrased.map(({ dir }) => `${cell(dir, 'seen')} / ${cell(dir, 'unseen')}`).join(' | ')} |`);
  }
}
