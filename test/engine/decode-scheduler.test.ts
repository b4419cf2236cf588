import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EngineCore } from '../../runtime/engine/engine-core.ts';
import { EngineError } from '../../runtime/engine/engine-api.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { collect, referenceCase, referenceEngine } from './reference-engine.ts';

const MODEL = 't5-tiny-flan-f32';

describe.skipIf(!hasShared)('continuous batching on the reference checkpoint', () => {
  let engine: EngineCore;
  const expected = hasShared ? referenceCase(MODEL) : undefined!;
  const steps = () => expected.greedy[0].length - 1;
  // greedy_ids start with the decoder start token and never hit eos within 10 steps for this model.
  const greedyTail = (row: number) => expected.greedy[row].slice(1);

  beforeAll(async () => {
    engine = await referenceEngine(MODEL);
  });
  afterAll(async () => {
    await engine.close();
  });

  it('concurrent greedy requests reproduce the reference greedy ids', async () => {
    const results = await Promise.all(
      expected.prompts.map((prompt) => collect(engine.generate({ prompt, sampling: { maxTokens: steps() } }))),
    );
    results.forEach((r, row) => {
      expect(r.tokens[0]).toEqual(greedyTail(row));
      expect(r.finish[0]).toBe('length');
      expect(r.done?.completionTokens).toBe(steps());
      expect(r.done?.promptTokens).toBe(expected.prompts[row].length);
    });
  });

  it('requests joining and leaving mid-flight get the same tokens as alone', async () => {
    const alone = await collect(engine.generate({ prompt: expected.prompts[1], sampling: { maxTokens: steps() } }));
    let joined: Promise<unknown> | undefined;
    const late: Promise<Awaited<ReturnType<typeof collect>>>[] = [];
    // A long request starts; after 3 of its tokens two more join, one of which leaves early.
    const long = collect(engine.generate({ prompt: expected.prompts[0], sampling: { maxTokens: steps() } }), (count) => {
      if (count === 3) {
        late.push(collect(engine.generate({ prompt: expected.prompts[1], sampling: { maxTokens: steps() } })));
        late.push(collect(engine.generate({ prompt: expected.prompts[2], sampling: { maxTokens: 2 } })));
        joined = Promise.all(late);
      }
    });
    const first = await long;
    await joined;
    const [second, short] = await Promise.all(late);
    expect(first.tokens[0]).toEqual(greedyTail(0));
    expect(second.tokens[0]).toEqual(alone.tokens[0]);
    expect(second.tokens[0]).toEqual(greedyTail(1));
    expect(short.tokens[0]).toEqual(greedyTail(2).slice(0, 2));
    expect(engine.stats().batchSize).toBe(0);
  });

  it('the same seed gives the same sample, alone or beside other requests', async () => {
    const sampling = { maxTokens: 8, temperature: 1, topP: 0.9, seed: 1234 };
    const a = await collect(engine.generate({ prompt: expected.prompts[0], sampling }));
    const [b] = await Promise.all([
      collect(engine.generate({ prompt: expected.prompts[0], sampling })),
      collect(engine.generate({ prompt: expected.prompts[1], sampling: { ...sampling, seed: 99 } })),
      collect(engine.generate({ prompt: expected.prompts[2], sampling: { maxTokens: 3 } })),
    ]);
    expect(b.tokens[0]).toEqual(a.tokens[0]);
    const other = await collect(engine.generate({ prompt: expected.prompts[0], sampling: { ...sampling, seed: 4321 } }));
    expect(other.tokens[0]).not.toEqual(a.tokens[0]);
  });

  it('n samples share one encoder pass and differ from each other', async () => {
    const router = (engine as unknown as { router: { acquire(ref: { id: string }): Promise<{ runner: { encode: () => unknown } }> } }).router;
    const encode = vi.spyOn((await router.acquire({ id: MODEL })).runner, 'encode');
    const prompt = [...expected.prompts[2], 7]; // a prompt not seen before, so the encoder cache misses once
    const r = await collect(engine.generate({ prompt, sampling: { maxTokens: 6, temperature: 1, n: 4, seed: 5 } }));
    expect(r.tokens).toHaveLength(4);
    expect(new Set(r.tokens.map((t) => t.join(','))).size).toBeGreaterThan(1);
    await collect(engine.generate({ prompt, sampling: { maxTokens: 2 } }));
    expect(encode).toHaveBeenCalledTimes(1);
    encode.mockRestore();
  });

  it('cancellation frees the slot at the next step', async () => {
    const controller = new AbortController();
    const r = await collect(engine.generate({ prompt: expected.prompts[0], sampling: { maxTokens: 50 }, signal: controller.signal }), (count) => {
      if (count === 2) controller.abort();
    });
    expect(r.finish[0]).toBe('cancelled');
    expect(r.tokens[0].length).toBeLessThan(5);
    expect(engine.stats()).toMatchObject({ batchSize: 0, queued: 0 });
    // Breaking out of the stream cancels too.
    for await (const e of engine.generate({ prompt: expected.prompts[1], sampling: { maxTokens: 50 } })) {
      if (e.type === 'token') break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(engine.stats().batchSize).toBe(0);
  });

  it('log-probabilities come back normalised, with alternatives led by the greedy choice', async () => {
    const r = await collect(engine.generate({ prompt: expected.prompts[0], sampling: { maxTokens: 3, logprobs: 3 } }));
    expect(r.logprobs[0]).toHaveLength(3);
    for (const lp of r.logprobs[0]) expect(lp).toBeLessThanOrEqual(0);
  });

  it('refuses what it cannot take, with the field at fault', () => {
    expect(() => engine.generate({ prompt: expected.prompts[0], sampling: { temperature: 5 } })).toThrow(EngineError);
    try {
      engine.generate({ prompt: [1, 2, 100000] });
    } catch (err) {
      expect((err as EngineError).param).toBe('prompt');
    }
  });
});

describe.skipIf(!hasShared)('admission limits', () => {
  it('a full queue answers queue_full with a retry hint', async () => {
    const engine = await referenceEngine(MODEL, { maxQueuedRequests: 1, maxBatchSequences: 1 });
    const { prompts } = referenceCase(MODEL);
    try {
      const first = collect(engine.generate({ prompt: prompts[0], sampling: { maxTokens: 4 } }));
      let error: EngineError | undefined;
      try {
        engine.generate({ prompt: prompts[1], sampling: { maxTokens: 4 } });
      } catch (err) {
        error = err as EngineError;
      }
      expect(error?.code).toBe('queue_full');
      expect(error?.retryAfterSeconds).toBeGreaterThan(0);
      await first;
    } finally {
      await engine.close();
    }
  });
});
