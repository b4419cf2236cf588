import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bbhTaskNames, loadBbhTask } from '../../eval/benchmarks/bbh-loader.ts';
import { loadTydiqaTasks } from '../../eval/benchmarks/tydiqa-loader.ts';
import type { QaTask } from '../../eval/benchmarks/types.ts';
import { runEval } from '../../eval/run/run-eval.ts';
import { SeededRandom } from '../../runtime/seeded-random.ts';
import { startFakeOpenAi, type FakeOpenAi } from './helpers/fake-openai-server.ts';
import { accuracyStdError, goldIndex, lastBbhQuestion } from './helpers/gold-answers.ts';
import { FIXTURES, HAVE_SHARED_BENCHMARKS, SHARED_BENCHMARKS, SHARED_SKIP_MESSAGE } from './helpers/shared-benchmarks.ts';

if (!HAVE_SHARED_BENCHMARKS) console.warn(SHARED_SKIP_MESSAGE);

let server: FakeOpenAi | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const BBH = join(SHARED_BENCHMARKS, 'bbh');
const PER_TASK = 30;

function allExamples(result: Awaited<ReturnType<typeof runEval>>) {
  return Object.values(result.tasks).flatMap((t) => t.examples);
}

describe.skipIf(!HAVE_SHARED_BENCHMARKS)('BBH against a scripted endpoint', () => {
  const tasks: QaTask[] = HAVE_SHARED_BENCHMARKS ? bbhTaskNames(BBH).map((n) => loadBbhTask(BBH, n)) : [];

  it.each(['cot', 'direct'] as const)('an endpoint answering from the gold labels scores 100%% (%s)', async (mode) => {
    const gold = goldIndex(tasks);
    server = await startFakeOpenAi(({ prompt }) => {
      const hit = gold.get(lastBbhQuestion(prompt));
      if (!hit) throw new Error(`unknown question in prompt: ${prompt.slice(-200)}`);
      // Answers written as BBH's exemplars write them.
      return { texts: [mode === 'cot' ? `Let us check each part in turn. So the answer is ${hit.target}.` : ` ${hit.target}`] };
    });
    const result = await runEval({ server: server.url, model: 'gold', suite: 'bbh', dataDir: BBH, mode, limit: PER_TASK });
    expect(Object.keys(result.tasks)).toHaveLength(27);
    for (const [name, task] of Object.entries(result.tasks)) {
      expect(task.metrics.count, name).toBe(PER_TASK);
      expect(task.metrics.accuracy, name).toBe(100);
    }
    expect(result.summary.accuracy).toBe(100);
    expect(server.requests[0].stop).toEqual(['\n\n', 'Q:']);
    expect(server.requests[0].temperature).toBe(0);
  });

  it('an endpoint guessing uniformly among the options scores near the random baseline', async () => {
    const gold = goldIndex(tasks);
    const labels = new Map(tasks.map((t) => [t, [...new Set(t.examples.map((e) => e.targets[0]))]]));
    const rng = SeededRandom.fromSeed(7);
    server = await startFakeOpenAi(({ prompt }) => {
      const question = lastBbhQuestion(prompt);
      const options = question.split('Options:')[1];
      const letters = options ? [...options.matchAll(/^\(([A-R])\)/gm)].map((m) => `(${m[1]})`) : [];
      const dashed = options ? [...options.matchAll(/^- (.*)$/gm)].map((m) => m[1]) : [];
      const task = gold.get(question)!.task;
      const binary = labels.get(task)!.length === 2 ? labels.get(task)! : [];
      const choices = letters.length > 0 ? letters : dashed.length > 0 ? dashed : binary;
      return { texts: [choices.length > 0 ? ` ${choices[rng.int(choices.length)]}` : ' no idea'] };
    });
    const result = await runEval({ server: server.url, model: 'random', suite: 'bbh', dataDir: BBH, mode: 'direct', limit: PER_TASK });
    const examples = allExamples(result);
    const baselines = examples.map((e) => e.randomBaseline!);
    const expected = baselines.reduce((a, b) => a + b, 0) / examples.length;
    const accuracy = examples.filter((e) => e.correct).length / examples.length;
    expect(expected).toBeGreaterThan(0.2);
    expect(Math.abs(accuracy - expected)).toBeLessThan(4 * accuracyStdError(baselines));
    // The free-form tasks have no options to guess from: a guess never lands.
    expect(result.tasks.word_sorting.metrics.accuracy).toBe(0);
    expect(result.tasks.word_sorting.metrics.random_baseline).toBe(0);
  });
});

describe('MMLU against a scripted endpoint', () => {
  it('scores 100% answering the gold letters, with the 5-shot prompt of Hendrycks et al.', async () => {
    const dir = join(FIXTURES, 'mmlu');
    const answers = new Map([
      ['Which of these is the largest planet?', 'C'],
      ['Which organelle is the site of photosynthesis?', 'B'],
      ['Which molecule stores energy for immediate use by the cell?', 'A'],
      ['What is true for a type-Ia ("type one-a") supernova?', 'A'],
      ['If you know both the actual brightness of an object and its apparent brightness from your location then with no other information you can estimate:\nits distance from you', 'D'],
    ]);
    server = await startFakeOpenAi(({ prompt }) => {
      const question = prompt.split('\n\n').pop()!.replace(/\nA\. [\s\S]*$/, '');
      return { texts: [` ${answers.get(question) ?? 'none'}`] };
    });
    const result = await runEval({ server: server.url, model: 'gold', suite: 'mmlu', dataDir: dir, mode: 'direct' });
    expect(result.tasks.astronomy.metrics).toMatchObject({ accuracy: 100, count: 3, random_baseline: 25 });
    expect(result.tasks.high_school_biology.metrics.accuracy).toBe(100);
    const prompt = server.requests.find((r) => r.prompt.includes('largest planet'))!.prompt;
    expect(prompt.startsWith('The following are multiple choice questions (with answers) about astronomy.\n\n')).toBe(true);
    expect(prompt.match(/\nAnswer: [ABCD]\n\n/g)).toHaveLength(5);
    expect(prompt.endsWith('Which of these is the largest planet?\nA. Earth\nB. Mars\nC. Jupiter\nD. Venus\nAnswer:')).toBe(true);
  });

  it('an endpoint guessing letters uniformly scores near 25%', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmlu-'));
    try {
      mkdirSync(join(dir, 'dev'));
      mkdirSync(join(dir, 'test'));
      const rows = (n: number) => Array.from({ length: n }, (_, i) => `Question ${i}?,w,x,y,z,${'ABCD'[i % 4]}`).join('\n');
      for (const subject of ['anatomy', 'virology']) {
        writeFileSync(join(dir, 'dev', `${subject}_dev.csv`), rows(5));
        writeFileSync(join(dir, 'test', `${subject}_test.csv`), rows(200));
      }
      const rng = SeededRandom.fromSeed(11);
      server = await startFakeOpenAi(() => ({ texts: [` ${'ABCD'[rng.int(4)]}`] }));
      const result = await runEval({ server: server.url, model: 'random', suite: 'mmlu', dataDir: dir, mode: 'direct', concurrency: 8 });
      const examples = allExamples(result);
      const accuracy = examples.filter((e) => e.correct).length / examples.length;
      expect(examples).toHaveLength(400);
      expect(Math.abs(accuracy - 0.25)).toBeLessThan(4 * accuracyStdError(examples.map(() => 0.25)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('MMLU CoT with the chain-of-thought-hub prompts (mmlu-cot.json)', () => {
  it('appends the question in the prompts\' own format and reads "The answer is (X)"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmlu-cot-'));
    try {
      cpSync(join(FIXTURES, 'mmlu'), dir, { recursive: true });
      const cot = 'The following are multiple choice questions (with answers) about astronomy.\n\nQ: Which planet is red?\n(A) Mars (B) Venus (C) Earth (D) Moon\nA: Let\'s think step by step. Mars looks red. The answer is (A).\n';
      writeFileSync(join(dir, 'mmlu-cot.json'), JSON.stringify({ astronomy: cot }));
      const gold: Record<string, string> = { 'type-Ia': 'A', brightness: 'D', 'largest planet': 'C' };
      server = await startFakeOpenAi(({ prompt }) => {
        const last = prompt.slice(prompt.lastIndexOf('\n\nQ: '));
        const letter = Object.entries(gold).find(([k]) => last.includes(k))![1];
        return { texts: [` We compare the options one by one. The answer is (${letter}).`] };
      });
      const result = await runEval({ server: server.url, model: 'gold', suite: 'mmlu', dataDir: dir, tasks: ['astronomy'], mode: 'cot' });
      expect(result.tasks.astronomy.metrics.accuracy).toBe(100);
      const prompt = server.requests.find((r) => r.prompt.includes('largest planet'))!.prompt;
      expect(prompt).toBe(`${cot.trimEnd()}\n\nQ: Which of these is the largest planet?\n(A) Earth (B) Mars (C) Jupiter (D) Venus\nA: Let's think step by step.`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('MGSM against a scripted endpoint (8-shot native CoT)', () => {
  it('scores 100% with answers in each language’s exemplar style', async () => {
    const gold = new Map([
      ['Lisa has 3 cats and 2 dogs. How many pets does she have?', 'She has 3 + 2 = 5 pets. The answer is 5.'],
      ['A farmer sells 12 eggs a day for 10 days. How many eggs does he sell?', '12 * 10 = 120. The answer is 120.'],
      ['小红有 4 支笔，丢了 1 支。她还有几支？', '4 - 1 = 3。答案是 3。'],
    ]);
    server = await startFakeOpenAi(({ prompt }) => {
      const last = prompt.split('\n\n').pop()!;
      const question = last.replace(/^(Question: |问题：)/, '').replace(/\n(Step-by-Step Answer:|逐步解答：)$/, '');
      return { texts: [` ${gold.get(question) ?? 'I do not know.'}`] };
    });
    const result = await runEval({ server: server.url, model: 'gold', suite: 'mgsm', dataDir: join(FIXTURES, 'mgsm'), tasks: ['en', 'zh'], mode: 'cot' });
    expect(result.tasks.en.metrics).toMatchObject({ accuracy: 100, count: 2 });
    expect(result.tasks.zh.metrics).toMatchObject({ accuracy: 100, count: 1 });
    const enPrompt = server.requests.find((r) => r.prompt.includes('Lisa'))!.prompt;
    expect(enPrompt.match(/^Question: /gm)).toHaveLength(9);
    expect(enPrompt.match(/^Step-by-Step Answer: .*The answer is \d+\.$/gm)).toHaveLength(8);
    expect(enPrompt.endsWith('\n\nQuestion: Lisa has 3 cats and 2 dogs. How many pets does she have?\nStep-by-Step Answer:')).toBe(true);
  });
});

describe('TyDiQA-GoldP against a scripted endpoint (1-shot)', () => {
  it('scores 100% exact match and F1 copying the gold span', async () => {
    const dir = join(FIXTURES, 'tydiqa');
    const tasks = loadTydiqaTasks(dir);
    const spans = new Map(tasks.flatMap((t) => t.examples.map((e) => [e.input, e.targets[0]] as const)));
    server = await startFakeOpenAi(({ prompt }) => {
      const question = /Q: ([^\n]*)\n\nA:$/.exec(prompt)![1];
      return { texts: [` ${spans.get(question)}\n`] };
    });
    const result = await runEval({ server: server.url, model: 'gold', suite: 'tydiqa', dataDir: dir, tasks: ['english', 'swahili'], mode: 'direct' });
    expect(result.tasks.english.metrics).toMatchObject({ accuracy: 100, exact_match: 100, f1: 100, count: 2 });
    expect(result.tasks.swahili.metrics).toMatchObject({ exact_match: 100, count: 1 });
    const swPrompt = server.requests.find((r) => r.prompt.includes('1899'))!.prompt;
    expect(swPrompt).toMatch(/^Nairobi ni mji mkuu[^]*\n\nQ: Mji mkuu wa Kenya ni upi\?\n\nA: Nairobi\n\nNairobi ni mji mkuu[^]*\n\nQ: Nairobi ilianzishwa mwaka gani\?\n\nA:$/);

    // Named no tasks, a run covers the paper's 8 languages (English is not among them) that the data has.
    const paperSet = await runEval({ server: server.url, model: 'gold', suite: 'tydiqa', dataDir: dir, mode: 'direct' });
    expect(Object.keys(paperSet.tasks)).toEqual(['swahili']);
    expect(paperSet.reportedSet).toMatch(/^1 tasks \(swahili\), averaged over tasks; .*English excluded/);
  });
});
