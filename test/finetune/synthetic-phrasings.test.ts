import { describe, expect, it } from 'vitest';
import {
  FAMILIES,
  fillSlots,
  fillTemplate,
  generateMixture,
  generatePhrasedMixture,
  generatePhrasingEvalSet,
  heldOutPhrasingIn,
  PHRASED_FAMILIES,
  PHRASED_FAMILY_NAMES,
  phrasedFamily,
  templatePattern,
} from '../../finetune/data/synthetic/index.ts';
import { SeededRandom } from '../../runtime/seeded-random.ts';

const EVERY_FAMILY = Object.fromEntries(PHRASED_FAMILY_NAMES.map((f) => [f, 300]));

describe('plain phrasings', () => {
  it('gives each phrased family many trained phrasings and a few held-out ones, all distinct', () => {
    for (const f of PHRASED_FAMILIES) {
      expect(f.trained.length, f.family).toBeGreaterThanOrEqual(5);
      expect(f.heldOut.length, f.family).toBeGreaterThanOrEqual(2);
      expect(new Set([...f.trained, ...f.heldOut]).size, f.family).toBe(f.trained.length + f.heldOut.length);
      expect(FAMILIES.map((x) => x.name)).toContain(f.family);
    }
  });

  it('finds a held-out phrasing wherever it is written, wrapped or not (the check below can fail)', () => {
    const sum = phrasedFamily('addition');
    const problem = sum.make(SeededRandom.fromSeed(3));
    const written = fillSlots(sum.heldOut[0], problem.slots);
    expect(heldOutPhrasingIn(written)).toBe(sum.heldOut[0]);
    expect(heldOutPhrasingIn(`Q: ${written}\nA:`)).toBe(sum.heldOut[0]);
    const leaked = [...generatePhrasedMixture(1, { addition: 20 }), { inputs: `Question: ${written}\nAnswer:`, targets: problem.answer, task: 'addition' }];
    expect(leaked.filter((e) => heldOutPhrasingIn(e.inputs))).toHaveLength(1);
  });

  it('never trains on a held-out phrasing: no trained phrasing, no original template, no mixture example matches one', () => {
    const rng = SeededRandom.fromSeed(9);
    for (const f of PHRASED_FAMILIES) {
      for (const template of f.trained) expect(heldOutPhrasingIn(fillSlots(template, f.make(rng).slots)), template).toBeUndefined();
    }
    for (const f of FAMILIES) {
      for (const template of f.templates) expect(heldOutPhrasingIn(fillTemplate(template, f.make(rng).question)), template).toBeUndefined();
    }
    const training = [...generatePhrasedMixture(2, EVERY_FAMILY), ...generateMixture({ seed: 2, perFamily: 100 })];
    expect(training.filter((e) => heldOutPhrasingIn(e.inputs)).map((e) => e.inputs)).toEqual([]);
  });

  it('draws focus examples only from a family\'s focus phrasings, each of them a trained phrasing', () => {
    const focused = PHRASED_FAMILIES.filter((f) => f.focus);
    expect(focused.map((f) => f.family)).toEqual(expect.arrayContaining(['sort_numbers', 'count_words', 'reverse_words']));
    for (const f of focused) {
      const trained = new Set(f.trained);
      expect(f.focus!.filter((t) => !trained.has(t)), f.family).toEqual([]);
      const examples = generatePhrasedMixture(7, { [f.family]: 200 }, 'focus');
      const patterns = f.focus!.map(templatePattern);
      // Every example is written with a focus phrasing (wrapped or not), and none with a held-out one.
      expect(examples.filter((e) => !patterns.some((p) => p.test(e.inputs))).map((e) => e.inputs), f.family).toEqual([]);
      expect(examples.filter((e) => heldOutPhrasingIn(e.inputs)).map((e) => e.inputs), f.family).toEqual([]);
    }
    expect(() => generatePhrasedMixture(7, { sentiment_movie: 1 }, 'focus')).toThrow(/no focus phrasings/);
  });

  it('asks the eval in the set named: unseen prompts are held-out phrasings, seen ones are not', () => {
    for (const family of PHRASED_FAMILY_NAMES) {
      const unseen = generatePhrasingEvalSet('unseen', family, 20);
      const seen = generatePhrasingEvalSet('seen', family, 20);
      expect(unseen).toHaveLength(20);
      for (const item of unseen) expect(heldOutPhrasingIn(item.prompt), item.prompt).toBeDefined();
      for (const item of seen) expect(heldOutPhrasingIn(item.prompt), item.prompt).toBeUndefined();
      expect(unseen.map((i) => i.answer)).toEqual(seen.map((i) => i.answer));
    }
  });

  it('keeps the eval questions out of phrased training', () => {
    const training = generatePhrasedMixture(4, { sort_numbers: 3000, reverse_words: 3000 });
    const asked = (family: string) => new Set(training.filter((e) => e.task === family).map((e) => e.targets.replace(/^So the answer is (.*)\.$/, '$1')));
    // Sorted lists and reversals are answers unique to their question: a shared answer is a shared question.
    for (const family of ['sort_numbers', 'reverse_words']) {
      const evalAnswers = generatePhrasingEvalSet('unseen', family).map((i) => i.answer);
      expect(evalAnswers.filter((a) => asked(family).has(a)), family).toEqual([]);
    }
  });

  it('states list answers after "So the answer is", so each item is tokenized as in the question', () => {
    for (const family of ['sort_numbers', 'reverse_words']) {
      const [example] = generatePhrasedMixture(6, { [family]: 1 });
      expect(example.targets, family).toMatch(/^So the answer is \w+(,? \w+)+\.$/);
    }
  });

  it('composes hundreds of trained phrasings for the families plain questions failed on', () => {
    // min_of_list and last_word too: with a handful each, their questions read as sorts and reversals;
    // sentiment since stage 5 (a quoted short complaint read as positive under an unfamiliar wording).
    for (const family of ['addition', 'multiplication', 'sort_numbers', 'count_words', 'reverse_words', 'min_of_list', 'last_word', 'sentiment_movie']) {
      expect(phrasedFamily(family).trained.length, family).toBeGreaterThan(100);
    }
  });

  it('writes sums worked out in the target, with no rationale for the trainer to turn into a CoT prompt', () => {
    const [sum] = generatePhrasedMixture(5, { addition: 1 });
    expect(sum.rationale).toBeUndefined();
    expect(sum.targets).toMatch(/counting up from \d+.* So the answer is \d+\.$/);
  });
});
