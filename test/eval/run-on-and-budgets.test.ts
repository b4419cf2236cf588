import { describe, expect, it } from 'vitest';
import { parseBbhCotPrompt } from '../../eval/benchmarks/bbh-loader.ts';
import type { QaTask } from '../../eval/benchmarks/types.ts';
import type { CompletionClient, CompletionRequest } from '../../eval/client/completion-client.ts';
import { evaluateQuestion } from '../../eval/run/qa-evaluator.ts';
import { QA_SUITES } from '../../eval/run/qa-suites.ts';
import { loadTokenizer } from '../../runtime/checkpoint/tokenizer.ts';
import { DEFAULT_LIMITS } from '../../runtime/engine/engine-core.ts';
import { hasShared, tokenizerDir } from '../helpers/shared-fixtures.ts';
import { HAVE_SHARED_BENCHMARKS, SHARED_BENCHMARKS, SHARED_SKIP_MESSAGE } from './helpers/shared-benchmarks.ts';

/** Answers every request with one fixed text and keeps the requests. */
function cannedClient(text: string): CompletionClient & { requests: CompletionRequest[] } {
  const requests: CompletionRequest[] = [];
  return { requests, complete: async (request) => (requests.push(request), { texts: [text] }) };
}

const sampling = { samples: 1, temperature: 0 };

const bbhPrompt = parseBbhCotPrompt(
  'canary\n-----\nPick one.\n\nQ: Is it (A) or (B)?\nA: Let\'s think step by step.\nIt is the first. So the answer is (A).',
  'cot-prompts/pick.txt',
);
const bbhTask = {
  suite: 'bbh' as const,
  name: 'pick',
  examples: [{ id: 'pick/0', input: 'Is it (A) or (B)?', targets: ['(A)'] }],
  exemplars: bbhPrompt.exemplars,
  prompt: bbhPrompt,
  labels: new Set(['(A)', '(B)']),
};

describe("a run-on output, as T5 writes it (no newline in its vocabulary, so no blank line)", () => {
  it('BBH CoT is scored on its own answer, not on the exemplar it invents after it', async () => {
    const client = cannedClient(
      "It is the first. So the answer is (A). Q: Is it (C) or (B)? A: Let's think step by step. It is the second. So the answer is (B).",
    );
    const record = await evaluateQuestion(client, QA_SUITES.bbh, bbhTask as QaTask, bbhTask.examples[0], 'cot', sampling);
    expect(record.prediction).toBe('(A)');
    expect(record.correct).toBe(true);
    expect(record.outputs[0]).toBe('It is the first. So the answer is (A).');
    // The marker is also sent as a stop, so the endpoint stops generating there.
    expect(client.requests[0].stop).toContain('Q:');
  });

  it('BBH direct keeps only the answer', async () => {
    const client = cannedClient('(A) Q: Is it (C) or (B)? A: (B)');
    const record = await evaluateQuestion(client, QA_SUITES.bbh, bbhTask as QaTask, bbhTask.examples[0], 'direct', sampling);
    expect(record.prediction).toBe('(A)');
  });

  it("MGSM CoT takes the last number of its own answer, cut at the exemplars' question header", async () => {
    const task = {
      suite: 'mgsm' as const,
      name: 'en',
      questionPrefix: 'Question: ',
      answerPrefix: 'Step-by-Step Answer: ',
      examples: [{ id: 'en/0', input: 'Ann has 9 pens and buys 9. How many?', targets: ['18'] }],
      exemplars: [{ input: 'Bo has 2 and gets 3. How many?', target: '5', rationale: 'Bo has 2 + 3 = 5. The answer is 5.' }],
    };
    const client = cannedClient('Ann has 9 + 9 = 18 pens. The answer is 18. Question: Cy has 3 and gets 4. How many? Step-by-Step Answer: 3 + 4 = 7. The answer is 7.');
    const record = await evaluateQuestion(client, QA_SUITES.mgsm, task as QaTask, task.examples[0], 'cot', sampling);
    expect(record.prediction).toBe('18');
    expect(client.requests[0].stop).toContain('Question:');
  });
});

if (!HAVE_SHARED_BENCHMARKS) console.warn(SHARED_SKIP_MESSAGE);

describe.skipIf(!HAVE_SHARED_BENCHMARKS || !hasShared)("output budgets sized from BBH's data (../shared/benchmarks, T5's tokenizer)", () => {
  const tasks = HAVE_SHARED_BENCHMARKS ? QA_SUITES.bbh.load(`${SHARED_BENCHMARKS}/bbh`) : [];
  const t5 = hasShared ? loadTokenizer(tokenizerDir) : undefined!;
  /** The max_tokens the harness sends for a task's questions in a mode. */
  const budget = async (task: QaTask, mode: 'direct' | 'cot') => {
    const client = cannedClient('So the answer is (A).');
    await evaluateQuestion(client, QA_SUITES.bbh, task, task.examples[0], mode, sampling);
    return client.requests[0].maxTokens;
  };

  it('gives every direct target room, word_sorting included (T5 tokens, end of sequence counted)', async () => {
    const short: string[] = [];
    for (const task of tasks) {
      const room = await budget(task, 'direct');
      for (const e of task.examples) if (t5.encode(e.targets[0]).length > room) short.push(`${task.name}: ${e.targets[0]}`);
    }
    expect(short).toEqual([]);
    const wordSorting = tasks.find((t) => t.name === 'word_sorting')!;
    expect(Math.max(...wordSorting.examples.map((e) => t5.encode(e.targets[0]).length))).toBeGreaterThan(32);
  });

  it('gives CoT room for the longest published rationale of its task', async () => {
    const longest = Math.max(...tasks.flatMap((task) => task.exemplars.map((e) => t5.encode(e.rationale ?? '').length)));
    expect(longest).toBeGreaterThan(256);
    for (const task of tasks) {
      const room = await budget(task, 'cot');
      for (const e of task.exemplars) expect(t5.encode(e.rationale ?? '').length, task.name).toBeLessThanOrEqual(room);
      // and never more than flan-serve accepts by default, or the request would be refused.
      expect(room, task.name).toBeLessThanOrEqual(DEFAULT_LIMITS.maxNewTokens);
    }
  });
});
