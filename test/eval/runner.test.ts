import { getEventListeners } from 'node:events';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mapBounded } from '../../eval/run/bounded-pool.ts';
import type { EvalProgress } from '../../eval/run/progress.ts';
import { runEval } from '../../eval/run/run-eval.ts';
import { startFakeOpenAi, type FakeOpenAi } from './helpers/fake-openai-server.ts';
import { FIXTURES } from './helpers/shared-benchmarks.ts';

let server: FakeOpenAi | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const MGSM = join(FIXTURES, 'mgsm');
const GOLD: Record<string, string> = { Lisa: '5', farmer: '120', 小红: '3' };
const goldFor = (prompt: string) => Object.entries(GOLD).find(([k]) => prompt.split('\n\n').pop()!.includes(k))![1];

describe('self-consistency (cot-sc)', () => {
  it('samples k answers at the given temperature and takes the majority', async () => {
    server = await startFakeOpenAi(({ prompt, n }) => {
      const gold = goldFor(prompt);
      // Three right, two wrong in different ways: only a majority vote gets it right.
      const texts = [`The answer is ${gold}.`, 'The answer is 7.', `So ${gold}.`, 'The answer is 8.', `It is ${gold}.`];
      return { texts: texts.slice(0, n ?? 1) };
    });
    const result = await runEval({ server: server.url, model: 'm', suite: 'mgsm', dataDir: MGSM, tasks: ['en', 'zh'], mode: 'cot-sc', samples: 5, temperature: 0.6 });
    expect(result.summary.accuracy).toBe(100);
    expect(server.requests.every((r) => r.n === 5 && r.temperature === 0.6)).toBe(true);
    expect(result.tasks.en.examples[0].outputs).toHaveLength(5);
  });

  it('asks again when the endpoint ignores n and returns one sample', async () => {
    let call = 0;
    server = await startFakeOpenAi(({ prompt }) => ({ texts: [call++ % 3 === 2 ? 'The answer is 1.' : `The answer is ${goldFor(prompt)}.`] }));
    const result = await runEval({ server: server.url, model: 'm', suite: 'mgsm', dataDir: MGSM, tasks: ['en'], mode: 'cot-sc', samples: 3, concurrency: 1 });
    expect(server.requests).toHaveLength(6);
    expect(result.tasks.en.examples.every((e) => e.outputs.length === 3)).toBe(true);
    expect(result.tasks.en.metrics.accuracy).toBe(100);
  });
});

describe('zero-shot CoT', () => {
  it('uses the trigger, and asks "Therefore, the answer is" only when the reasoning states no answer', async () => {
    server = await startFakeOpenAi(({ prompt }) => {
      if (prompt.endsWith('Therefore, the answer is')) return { texts: [` ${goldFor(prompt.split('\n').slice(0, 1).join(''))} pets.`] };
      if (prompt.includes('Lisa')) return { texts: [' Lisa has cats and dogs, which add up.'] };
      return { texts: [` ${prompt.includes('farmer') ? '12 * 10 = 120' : '4 - 1 = 3'}. The answer is ${goldFor(prompt)}.`] };
    });
    const result = await runEval({ server: server.url, model: 'm', suite: 'mgsm', dataDir: MGSM, tasks: ['en', 'zh'], mode: 'zero-shot-cot', concurrency: 1 });
    expect(result.summary.accuracy).toBe(100);
    const prompts = server.requests.map((r) => r.prompt);
    expect(prompts[0]).toBe("Question: Lisa has 3 cats and 2 dogs. How many pets does she have?\nStep-by-Step Answer: Let's think step by step.");
    expect(prompts[1]).toBe(`${prompts[0]} Lisa has cats and dogs, which add up.\nTherefore, the answer is`);
    expect(prompts.filter((p) => p.endsWith('Therefore, the answer is'))).toHaveLength(1);
  });
});

describe('runner', () => {
  it('never has more requests in flight than the concurrency, and does use it', async () => {
    // Each request waits for a partner, so two are provably in flight together; more would show.
    const waiting: (() => void)[] = [];
    server = await startFakeOpenAi(
      () =>
        new Promise((resolve) => {
          waiting.push(() => resolve({ texts: [' A'] }));
          if (waiting.length === 2) waiting.splice(0).forEach((release) => release());
        }),
    );
    await runEval({ server: server.url, model: 'm', suite: 'mmlu', dataDir: join(FIXTURES, 'mmlu'), tasks: ['high_school_biology', 'astronomy'], mode: 'direct', limit: 2, concurrency: 2 });
    expect(server.requests).toHaveLength(4);
    expect(server.maxInFlight).toBe(2);
  });

  it('reports progress after every item with done/total and an ETA', async () => {
    server = await startFakeOpenAi(() => ({ texts: [' A'] }));
    const events: EvalProgress[] = [];
    await runEval(
      { server: server.url, model: 'm', suite: 'mmlu', dataDir: join(FIXTURES, 'mmlu'), mode: 'direct', concurrency: 1 },
      { onProgress: (p) => events.push(p) },
    );
    expect(events.map((e) => e.done)).toEqual([1, 2, 3, 4, 5]);
    expect(events.every((e) => e.total === 5 && e.etaSeconds !== undefined && e.etaSeconds >= 0)).toBe(true);
    expect(events[4].etaSeconds).toBe(0);
    expect(events.map((e) => e.task)).toEqual(['astronomy', 'astronomy', 'astronomy', 'high_school_biology', 'high_school_biology']);
  });

  it('leaves no listener per request on the run signal (the openai client never removes its own)', async () => {
    server = await startFakeOpenAi(() => ({ texts: [' 4'] }));
    const controller = new AbortController();
    const result = await runEval({ server: server.url, model: 'm', suite: 'synthetic', dataDir: '', tasks: ['addition'], mode: 'direct', limit: 60, concurrency: 4 }, { signal: controller.signal });
    expect(result.tasks.addition.metrics.count).toBe(60);
    expect(getEventListeners(controller.signal, 'abort').length).toBeLessThan(5);
  });

  it('cancels: in-flight requests are aborted, no new ones start, and the run rejects with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stopped by the operator');
    let arrived = 0;
    server = await startFakeOpenAi(
      () =>
        new Promise(() => {
          // Never answers: the run can only end by being cancelled.
          if (++arrived === 2) controller.abort(reason);
        }),
    );
    const run = runEval(
      { server: server.url, model: 'm', suite: 'mmlu', dataDir: join(FIXTURES, 'mmlu'), mode: 'direct', concurrency: 2 },
      { signal: controller.signal },
    );
    await expect(run).rejects.toBe(reason);
    expect(server.requests).toHaveLength(2);
  });

  it('fails before any request when the data cannot support the mode', async () => {
    server = await startFakeOpenAi(() => ({ texts: [' A'] }));
    await expect(runEval({ server: server.url, model: 'm', suite: 'mmlu', dataDir: join(FIXTURES, 'mmlu'), mode: 'cot' })).rejects.toThrow(/mmlu-cot\.json/);
    await expect(runEval({ server: server.url, model: 'm', suite: 'tydiqa', dataDir: join(FIXTURES, 'tydiqa'), mode: 'cot' })).rejects.toThrow(/no chain-of-thought/);
    await expect(runEval({ server: server.url, model: 'm', suite: 'bbh', dataDir: join(FIXTURES, 'mmlu'), mode: 'cot' })).rejects.toThrow(/tasks\/\*\.json/);
    await expect(runEval({ server: server.url, model: 'm', suite: 'mmlu', dataDir: join(FIXTURES, 'mmlu'), tasks: ['nope'], mode: 'direct' })).rejects.toThrow(/no task "nope"/);
    expect(server.requests).toHaveLength(0);
  });

  it('names the synthetic families when asked for one it does not have', async () => {
    await expect(runEval({ server: 'http://127.0.0.1:9', model: 'm', suite: 'synthetic', dataDir: '', tasks: ['nope'], mode: 'direct' })).rejects.toThrow(/no task "nope".*held-out/);
  });
});

describe('mapBounded', () => {
  it('keeps the order of results and stops at the first failure', async () => {
    const started: number[] = [];
    await expect(
      mapBounded([1, 2, 3, 4, 5], 1, async (x) => {
        started.push(x);
        if (x === 2) throw new Error('boom');
        return x;
      }),
    ).rejects.toThrow('boom');
    expect(started).toEqual([1, 2]);
    expect(await mapBounded([3, 1, 2], 2, async (x) => x * 10)).toEqual([30, 10, 20]);
  });
});
