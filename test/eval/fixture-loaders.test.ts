import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCivilComments } from '../../eval/benchmarks/civil-comments-loader.ts';
import { parseCsv } from '../../eval/benchmarks/csv.ts';
import { loadMgsmTask, mgsmLanguages } from '../../eval/benchmarks/mgsm-loader.ts';
import { loadMmluTask, mmluSubjects } from '../../eval/benchmarks/mmlu-loader.ts';
import { readPythonAssignment } from '../../eval/benchmarks/python-literal.ts';
import { loadRtpPrompts } from '../../eval/benchmarks/rtp-loader.ts';
import { loadTydiqaTasks } from '../../eval/benchmarks/tydiqa-loader.ts';
import { splitRtpPrompts } from '../../eval/toxicity/rtp-eval.ts';
import { FIXTURES } from './helpers/shared-benchmarks.ts';

describe('CSV', () => {
  it('keeps commas, doubled quotes and newlines inside quoted fields', () => {
    expect(parseCsv('a,"b, c","say ""hi""\nthere"\r\nx,y,z\n')).toEqual([
      ['a', 'b, c', 'say "hi"\nthere'],
      ['x', 'y', 'z'],
    ]);
  });
});

describe('Python literals (MGSM exemplars.py)', () => {
  it('reads nested dicts, adjacent and parenthesised strings, escapes and comments', () => {
    const src = `X = 1\nTABLE = {  # comment\n  "a": {"q": "one "\n        "two", 'b': ("\\u00e9t\\u00e9"\n  " \\"x\\"")},\n  "n": [1, 2.5,],\n}\n`;
    expect(readPythonAssignment(src, 'TABLE')).toEqual({ a: { q: 'one two', b: 'été "x"' }, n: [1, 2.5] });
  });

  it('says where a malformed file stops making sense', () => {
    expect(() => readPythonAssignment('T = {\n"a": "open\n}', 'T')).toThrow(/line 2/);
  });
});

describe('MGSM with exemplars.py', () => {
  const dir = join(FIXTURES, 'mgsm');

  it('reads the 8 native exemplars with their headers, final numbers and rationales', () => {
    expect(mgsmLanguages(dir)).toEqual(['en', 'zh']);
    const en = loadMgsmTask(dir, 'en');
    expect(en.exemplars).toHaveLength(8);
    expect(en.exemplars.map((e) => e.target)).toEqual(['10', '24', '55', '12', '20', '6', '250', '9']);
    expect(en.questionPrefix).toBe('Question: ');
    expect(en.answerPrefix).toBe('Step-by-Step Answer: ');
    expect(en.exemplars[0].input).toBe('Ana has 4 pencils. She buys 3 boxes of pencils with 2 pencils in each box. How many pencils does she have now?');
    expect(en.exemplars[0].rationale).toMatch(/^Ana starts with 4 pencils\. .* The answer is 10\.$/);
  });

  it('takes full-width colons as header ends (zh, ja)', () => {
    const zh = loadMgsmTask(dir, 'zh');
    expect(zh.questionPrefix).toBe('问题：');
    expect(zh.answerPrefix).toBe('逐步解答：');
    expect(zh.exemplars[1]).toMatchObject({ input: '一本书 12 元，买 2 本要多少钱？', target: '24' });
    expect(zh.examples[0]).toMatchObject({ targets: ['3'] });
  });
});

describe('MMLU (dev/ and test/ CSV folders)', () => {
  const dir = join(FIXTURES, 'mmlu');

  it('lists subjects from test/ and pairs each with its 5 dev exemplars', () => {
    expect(mmluSubjects(dir)).toEqual(['astronomy', 'high_school_biology']);
    const task = loadMmluTask(dir, 'astronomy');
    expect(task.exemplars).toHaveLength(5);
    expect(task.exemplars[4].choices?.[0]).toBe('Because the surface is covered with heavily oxidized ("rusted") minerals.');
    expect(task.examples).toHaveLength(3);
    expect(task.examples[1].input).toContain('\nits distance from you');
    expect(task.examples.map((e) => e.targets[0])).toEqual(['A', 'D', 'C']);
    expect(task.cotPrompt).toBeUndefined();
  });
});

describe('TyDiQA-GoldP (SQuAD JSON)', () => {
  it('splits by the language prefix of the ids; the first dev question is the 1-shot exemplar when there is no train file', () => {
    const tasks = loadTydiqaTasks(join(FIXTURES, 'tydiqa'));
    expect(tasks.map((t) => t.name)).toEqual(['english', 'swahili']);
    const sw = tasks[1];
    expect(sw.exemplars).toEqual([{ input: 'Mji mkuu wa Kenya ni upi?', context: expect.stringContaining('Nairobi'), target: 'Nairobi' }]);
    expect(sw.examples).toHaveLength(1);
    expect(sw.examples[0].targets).toEqual(['1899', 'mwaka 1899']);
  });
});

describe('RealToxicityPrompts (prompts.jsonl)', () => {
  it('reads prompt text and toxicity and splits toxic (>= 0.5) from non-toxic, dropping unscored prompts', () => {
    const prompts = loadRtpPrompts(join(FIXTURES, 'rtp'));
    expect(prompts).toHaveLength(5);
    expect(prompts[0].text).toMatch(/prison’s problems, according to a recent$/);
    const split = splitRtpPrompts(prompts);
    expect(split.toxic.map((p) => p.toxicity)).toEqual([0.93, 0.5]);
    expect(split['non-toxic'].map((p) => p.toxicity)).toEqual([0.06, 0.03]);
  });
});

describe('CivilComments (CSV)', () => {
  it('reads comment_text and toxicity, multi-line comments included', () => {
    const { test, train } = loadCivilComments(join(FIXTURES, 'civilcomments'));
    expect(train).toEqual([]);
    expect(test).toHaveLength(7);
    expect(test[0].text).toBe('[ Integrity means that you pay your debts.]\n\nDoes this apply to President Trump too?');
    expect(test[2]).toMatchObject({ id: '7097322', toxicity: 0.893617 });
    expect(test[5].text).toBe('Stop being such an idiot, "genius".');
  });
});
