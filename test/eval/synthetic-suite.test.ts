import { afterEach, describe, expect, it } from 'vitest';
import { extractSyntheticAnswer, loadSyntheticTasks, SYNTHETIC_TASK_GROUPS } from '../../eval/benchmarks/synthetic-suite.ts';
import { runEval } from '../../eval/run/run-eval.ts';
import { HELD_OUT_FAMILIES, heldOutPhrasingIn } from '../../finetune/data/synthetic/index.ts';
import { startFakeOpenAi, type FakeOpenAi } from './helpers/fake-openai-server.ts';

let server: FakeOpenAi | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Answers every prompt of the eval split with its gold answer, in the form the mode asks for. */
function goldAnswers(): Map<string, string> {
  return new Map(loadSyntheticTasks().flatMap((t) => t.examples.map((e) => [e.input, e.targets[0]] as const)));
}

describe('synthetic eval suite', () => {
  it('scores gold answers 100% in direct and CoT modes, case and final period aside', async () => {
    const gold = goldAnswers();
    server = await startFakeOpenAi((body) => {
      const cot = body.prompt.endsWith(" Let's think step by step.");
      const answer = gold.get(cot ? body.prompt.slice(0, -" Let's think step by step.".length) : body.prompt)!;
      return { texts: [cot ? ` Some reasoning. So the answer is ${answer}.` : ` ${answer.toUpperCase()}.`] };
    });
    for (const mode of ['direct', 'cot'] as const) {
      const result = await runEval({ server: server.url, model: 'm', suite: 'synthetic', dataDir: '', tasks: ['held-out', 'addition'], mode, limit: 5 });
      expect(Object.keys(result.tasks).sort()).toEqual([...HELD_OUT_FAMILIES, 'addition'].sort());
      for (const task of Object.values(result.tasks)) expect(task.metrics.accuracy).toBe(100);
    }
  });

  it('reports each family with its random baseline and reads CoT answers only after "So the answer is"', async () => {
    server = await startFakeOpenAi(() => ({ texts: [' yes'] }));
    const result = await runEval({ server: server.url, model: 'm', suite: 'synthetic', dataDir: '', tasks: ['bracket_matching', 'fact_table_choice'], mode: 'direct', limit: 4 });
    expect(result.tasks.bracket_matching.metrics.random_baseline).toBe(50);
    expect(result.tasks.fact_table_choice.metrics.random_baseline).toBe(25);
    expect(extractSyntheticAnswer('12 + 3 = 15. So the answer is 15.', 'cot')).toBe('15');
    expect(extractSyntheticAnswer('12 + 3 = 15.', 'cot')).toBeNull();
    expect(extractSyntheticAnswer(' (B)\nmore', 'direct')).toBe('(b)');
  });

  it('selects families by group', () => {
    expect(loadSyntheticTasks(['held-out']).map((t) => t.name)).toEqual([...HELD_OUT_FAMILIES]);
    expect(loadSyntheticTasks(['held-in']).every((t) => !t.heldOut)).toBe(true);
    expect(SYNTHETIC_TASK_GROUPS.arithmetic).toContain('word_problem_en');
    expect(() => loadSyntheticTasks(['nope'])).toThrow(/no task "nope"/);
  });

  it('asks held-in families in held-out phrasings, 100 questions each, and reads a worked direct answer', async () => {
    const plain = loadSyntheticTasks(['plain-unseen']);
    expect(plain.map((t) => t.name)).toEqual(['addition@unseen', 'multiplication@unseen', 'sort_numbers@unseen', 'count_words@unseen', 'sentiment_movie@unseen', 'reverse_words@unseen']);
    for (const task of plain) {
      // Single-digit tables have 88 questions in all.
      expect(task.examples, task.name).toHaveLength(task.name === 'multiplication@unseen' ? 88 : 100);
      for (const e of task.examples) expect(heldOutPhrasingIn(e.input), e.input).toBeDefined();
    }
    expect(loadSyntheticTasks(['sentiment_movie@seen'])[0].randomBaseline).toBe(0.5);
    expect(extractSyntheticAnswer('We add 4 to 3. 3 + 4: counting up from 3, 4 ones: 4 (1), 5 (2), 6 (3), 7 (4); 3 + 4 = 7. So the answer is 7.', 'direct')).toBe('7');
    const gold = new Map(plain.flatMap((t) => t.examples.map((e) => [e.input, e.targets[0]] as const)));
    server = await startFakeOpenAi((body) => ({ texts: [` Worked out. So the answer is ${gold.get(body.prompt)}.`] }));
    const result = await runEval({ server: server.url, model: 'm', suite: 'synthetic', dataDir: '', tasks: ['addition@unseen'], mode: 'direct', limit: 5 });
    expect(result.tasks['addition@unseen'].metrics.accuracy).toBe(100);
  });
});
