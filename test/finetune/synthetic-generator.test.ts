import { describe, expect, it } from 'vitest';
import { cotTarget } from '../../finetune/data/templates.ts';
import {
  COT_FAMILIES,
  evalQuestions,
  EXTENSION_FAMILIES,
  FAMILIES,
  familyByName,
  fillTemplate,
  generateEvalSet,
  generateMixture,
  generatePlainText,
  HELD_OUT_FAMILIES,
  spanCorrupt,
  spanCorruptionExamples,
} from '../../finetune/data/synthetic/index.ts';
import { SeededRandom } from '../../runtime/seeded-random.ts';

describe('synthetic task generator', () => {
  it('has at least 24 families, each with several templates, and at least 4 held out', () => {
    expect(FAMILIES.length).toBeGreaterThanOrEqual(24);
    expect(new Set(FAMILIES.map((f) => f.name)).size).toBe(FAMILIES.length);
    for (const f of FAMILIES) expect(f.templates.length, f.name).toBeGreaterThanOrEqual(3);
    expect(HELD_OUT_FAMILIES.length).toBeGreaterThanOrEqual(4);
    for (const name of HELD_OUT_FAMILIES) expect(FAMILIES.map((f) => f.name)).toContain(name);
  });

  it('is a pure function of its seed', () => {
    const a = generateMixture({ seed: 5, perFamily: 20 });
    expect(generateMixture({ seed: 5, perFamily: 20 })).toEqual(a);
    expect(generateMixture({ seed: 6, perFamily: 20 })).not.toEqual(a);
    expect(generatePlainText(3, 10)).toEqual(generatePlainText(3, 10));
    expect(generateEvalSet(5)).toEqual(generateEvalSet(5));
  });

  it('keeps held-out families out of the training mixture and the pretraining text', () => {
    const mixture = generateMixture({ seed: 1, perFamily: 30 });
    const tasks = new Set(mixture.map((e) => e.task));
    for (const name of HELD_OUT_FAMILIES) expect(tasks.has(name), name).toBe(false);
    expect(tasks.size).toBe(FAMILIES.length - HELD_OUT_FAMILIES.length);
    expect(() => generateMixture({ seed: 1, perFamily: 1, families: ['max_of_list'] })).toThrow(/held-out/);
    // Phrasings that only held-out families use never appear in the text the base model reads.
    const text = generatePlainText(1, 2000).join('\n');
    for (const marker of ['the largest', 'maximum', 'bigger', 'first word', 'Customer feedback', 'Quanti', 'adesso']) expect(text).not.toContain(marker);
  });

  it('keeps extension families out of every default set, reachable by name with their eval split excluded', () => {
    const [extension] = EXTENSION_FAMILIES;
    expect(FAMILIES.map((f) => f.name)).not.toContain(extension.name);
    expect(generateMixture({ seed: 3, perFamily: 5 }).some((e) => e.task === extension.name)).toBe(false);
    expect(generateEvalSet(5).some((i) => i.task === extension.name)).toBe(false);
    expect(familyByName(extension.name)).toBe(extension);
    const evalSet = new Set(generateEvalSet(100, [extension.name]).map((i) => i.prompt));
    const training = generateMixture({ seed: 3, perFamily: 300, families: [extension.name], fewShotRate: 0 });
    expect(training).toHaveLength(300);
    expect(training.filter((e) => evalSet.has(e.inputs))).toEqual([]);
  });

  it('never trains on an eval question of a family with room for both', () => {
    const asked = evalQuestions(100);
    const mixture = generateMixture({ seed: 2, perFamily: 200, families: ['addition', 'word_problem_en', 'fact_table_choice'], fewShotRate: 0 });
    for (const e of mixture) {
      const prompts = [...asked.get(e.task)!].flatMap((q) => familyByName(e.task).templates.map((t) => fillTemplate(t, q)));
      expect(prompts.includes(e.inputs), e.inputs).toBe(false);
    }
  });

  it('renders zero-shot and few-shot forms, with rationales that end where "So the answer is" begins', () => {
    const mixture = generateMixture({ seed: 3, perFamily: 50, fewShotRate: 0.5 });
    expect(mixture.some((e) => e.inputs.includes('\n\n'))).toBe(true);
    expect(mixture.some((e) => !e.inputs.includes('\n\n'))).toBe(true);
    const withRationale = mixture.filter((e) => e.rationale !== undefined);
    expect(new Set(withRationale.map((e) => e.task))).toEqual(new Set(COT_FAMILIES.filter((f) => !HELD_OUT_FAMILIES.includes(f))));
    for (const e of withRationale) expect(e.inputs.includes('\n\n'), 'few-shot prompts carry no rationale').toBe(false);
    const sum = withRationale.find((e) => e.task === 'word_problem_en')!;
    const target = cotTarget(sum.rationale!, sum.targets);
    expect(target).toMatch(/= (\d+)\. So the answer is (\d+)\.$/);
    const [, last, answer] = /= (\d+)\. So the answer is (\d+)\.$/.exec(target)!;
    expect(last).toBe(answer);
  });

  it('works sums by counting on, tens then ones, every hop numbered, one hop from the last, ending on the answer', () => {
    const mixture = generateMixture({ seed: 7, perFamily: 300, families: ['addition', 'subtraction', 'word_problem_de'], fewShotRate: 0 });
    const runs = new Set<string>();
    for (const e of mixture.filter((x) => x.rationale !== undefined)) {
      // `x op y: <counting from x>, N tens: v (1), ...; M ones: v (1), ...; x op y = z`
      const sums = [...e.rationale!.matchAll(/(\d+) ([+-]) (\d+): [^,]*, (.*?); \1 \2 \3 = (\d+)/g)];
      expect(sums.length, e.rationale).toBe(e.task === 'word_problem_de' ? 2 : 1);
      for (const [, x, op, y, hopText, z] of sums) {
        const sign = op === '+' ? 1 : -1;
        const counts = [Math.floor(Number(y) / 10), Number(y) % 10];
        const hopRuns = hopText.split('; ');
        expect(hopRuns.length, e.rationale).toBe(counts.filter((c) => c > 0).length);
        let value = Number(x);
        for (const [unit, count] of [[10, counts[0]], [1, counts[1]]]) {
          if (count === 0) continue;
          const run = hopRuns.shift()!;
          runs.add(unit === 10 ? 'tens' : 'ones');
          expect(run.startsWith(`${count} `), run).toBe(true);
          const hops = [...run.matchAll(/(-?\d+) \((\d+)\)/g)];
          expect(hops.map((h) => Number(h[2])), run).toEqual(Array.from({ length: count }, (_, i) => i + 1));
          for (const [, v] of hops) expect(Number(v), run).toBe((value += sign * unit));
        }
        expect(value, e.rationale).toBe(Number(z));
        expect(Number(z), e.rationale).toBe(op === '+' ? Number(x) + Number(y) : Number(x) - Number(y));
      }
      expect(sums.at(-1)![5], e.rationale).toBe(e.targets);
    }
    expect([...runs].sort()).toEqual(['ones', 'tens']);
  });

  it('computes gold answers that agree with the question', () => {
    const items = generateEvalSet(20, ['addition', 'sort_words', 'boolean_expressions', 'bracket_matching']);
    for (const item of items.filter((i) => i.task === 'addition')) {
      const [, a, b] = /What is (\d+) \+ (\d+)\?/.exec(item.prompt)!;
      expect(Number(item.answer)).toBe(Number(a) + Number(b));
    }
    for (const item of items.filter((i) => i.task === 'sort_words')) {
      const words = item.prompt.split(': ')[1].split(' ');
      expect(item.answer).toBe([...words].sort().join(' '));
    }
    expect(new Set(items.filter((i) => i.task === 'bracket_matching').map((i) => i.answer))).toEqual(new Set(['yes', 'no']));
  });

  it('span corruption hides spans behind sentinels that the target restores', () => {
    const text = 'Anna has 5 apples. She buys 3 more and gives 2 to Ben. So she has 6 apples left in the end.';
    const e = spanCorrupt(text, SeededRandom.fromSeed(9));
    expect(e.inputs).toContain('<extra_id_0>');
    const spans = e.targets.split(/<extra_id_\d+>/).slice(1, -1);
    let restored = e.inputs;
    spans.forEach((span, i) => (restored = restored.replace(`<extra_id_${i}>`, span)));
    expect(restored).toBe(text);
    expect(spanCorruptionExamples(generatePlainText(4, 50), 1)).toHaveLength(50);
  });
});
