import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bbhTaskNames, loadBbhTask } from '../../eval/benchmarks/bbh-loader.ts';
import { loadMgsmTask, mgsmLanguages } from '../../eval/benchmarks/mgsm-loader.ts';
import { buildBbhPrompt } from '../../eval/prompting/bbh-prompt.ts';
import { buildMgsmPrompt } from '../../eval/prompting/mgsm-prompt.ts';
import { PromptUnavailableError } from '../../eval/prompting/prompt-unavailable-error.ts';
import { HAVE_SHARED_BENCHMARKS, SHARED_BENCHMARKS, SHARED_SKIP_MESSAGE } from './helpers/shared-benchmarks.ts';

if (!HAVE_SHARED_BENCHMARKS) console.warn(SHARED_SKIP_MESSAGE);

const BBH = join(SHARED_BENCHMARKS, 'bbh');
const MGSM = join(SHARED_BENCHMARKS, 'mgsm');

describe.skipIf(!HAVE_SHARED_BENCHMARKS)('../shared/benchmarks: BBH', () => {
  const names = HAVE_SHARED_BENCHMARKS ? bbhTaskNames(BBH) : [];

  it('finds all 27 BBH tasks', () => {
    expect(names).toHaveLength(27);
    expect(names).toContain('tracking_shuffled_objects_seven_objects');
  });

  it.each(names)('%s loads with its examples and 3 CoT exemplars', (name) => {
    const task = loadBbhTask(BBH, name);
    expect(task.examples.length).toBeGreaterThan(100);
    expect(task.examples.every((e) => e.input.length > 0 && e.targets[0].length > 0)).toBe(true);
    expect(task.exemplars).toHaveLength(3);
  });

  it.each(names)('%s: the CoT prompt is the published cot-prompts text followed by the question', (name) => {
    const task = loadBbhTask(BBH, name);
    const published = readFileSync(join(BBH, 'cot-prompts', `${name}.txt`), 'utf8').split('\n-----\n')[1].trimEnd();
    const question = task.examples[0].input;
    expect(buildBbhPrompt(task.prompt, question, 'cot')).toBe(`${published}\n\nQ: ${question}\nA: Let's think step by step.`);
    // The parse holds every exemplar whole: description and exemplars re-assemble the file exactly.
    const reassembled = [task.prompt.description, ...task.exemplars.map((e) => `Q: ${e.input}\nA: ${e.rationale}`)].join('\n\n');
    expect(reassembled).toBe(published);
  });

  it.each(names)('%s: the direct prompt keeps the same exemplars with only their answers', (name) => {
    const task = loadBbhTask(BBH, name);
    const prompt = buildBbhPrompt(task.prompt, 'QUESTION', 'direct');
    const answers = [...prompt.matchAll(/\nA: ?(.*)/g)].map((m) => m[1]);
    expect(answers).toEqual([...task.exemplars.map((e) => e.target), '']);
    expect(prompt).not.toContain("Let's think step by step");
    expect(prompt.startsWith(task.prompt.description)).toBe(true);
    expect(prompt.endsWith('\n\nQ: QUESTION\nA:')).toBe(true);
    // Each exemplar answer has the form of the task's gold answers ("(C)", "Yes", "valid", a number...).
    const goldShape = (t: string) => (/^\([A-R]\)$/.test(t) ? 'option' : /^-?\d+$/.test(t) ? 'number' : 'text');
    const shapes = new Set(task.examples.map((e) => goldShape(e.targets[0])));
    for (const e of task.exemplars) expect(shapes).toContain(goldShape(e.target));
  });
});

describe.skipIf(!HAVE_SHARED_BENCHMARKS)('../shared/benchmarks: MGSM', () => {
  const languages = HAVE_SHARED_BENCHMARKS ? mgsmLanguages(MGSM) : [];

  it('finds English and the 10 languages of the paper', () => {
    expect(languages).toEqual(['bn', 'de', 'en', 'es', 'fr', 'ja', 'ru', 'sw', 'te', 'th', 'zh']);
  });

  it.each(languages)('mgsm_%s.tsv loads 250 problems with integer answers', (lang) => {
    const task = loadMgsmTask(MGSM, lang);
    expect(task.examples).toHaveLength(250);
    // Answers are integers, some written with thousands separators ("2,125").
    expect(task.examples.every((e) => /^-?\d{1,3}(,\d{3})*$|^-?\d+$/.test(e.targets[0]))).toBe(true);
    expect(task.examples[0].targets[0]).toBe('18');
  });

  it('without exemplars.py beside the TSVs, few-shot modes say where the exemplars come from', () => {
    const task = loadMgsmTask(MGSM, 'en');
    expect(task.exemplars).toEqual([]);
    expect(() => buildMgsmPrompt(task, task.examples[0].input, 'cot')).toThrow(PromptUnavailableError);
    expect(() => buildMgsmPrompt(task, task.examples[0].input, 'cot')).toThrow(/google-research\/url-nlp/);
    expect(buildMgsmPrompt(task, 'Q?', 'zero-shot-cot')).toBe("Question: Q?\nStep-by-Step Answer: Let's think step by step.");
  });
});
