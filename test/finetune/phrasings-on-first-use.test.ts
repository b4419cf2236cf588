import { describe, expect, it, vi } from 'vitest';

// The real composition, counted: every phrasing list the families compose goes through one of these two.
vi.mock('../../finetune/data/synthetic/composed-phrasings.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../finetune/data/synthetic/composed-phrasings.ts')>();
  return { ...real, composedPhrasings: vi.fn(real.composedPhrasings), trainedPhrasings: vi.fn(real.trainedPhrasings) };
});

const composed = await import('../../finetune/data/synthetic/composed-phrasings.ts');
const calls = () => vi.mocked(composed.composedPhrasings).mock.calls.length + vi.mocked(composed.trainedPhrasings).mock.calls.length;

describe('phrased families compose their phrasings on first use', () => {
  it('composes nothing when the eval suite the server imports is loaded, and each list once when read', async () => {
    // What the server's HTTP thread imports (eval/run/run-eval.ts): it never reads a trained phrasing.
    await import('../../eval/benchmarks/synthetic-suite.ts');
    const { phrasedFamily, generatePhrasingEvalSet } = await import('../../finetune/data/synthetic/index.ts');
    expect(calls()).toBe(0);
    // Held-out questions need no trained phrasing either.
    expect(generatePhrasingEvalSet('unseen', 'sort_numbers', 4)).toHaveLength(4);
    expect(calls()).toBe(0);

    const sorting = phrasedFamily('sort_numbers');
    const trained = sorting.trained;
    const afterFirstRead = calls();
    expect(afterFirstRead).toBeGreaterThan(0);
    expect(trained.length).toBeGreaterThan(100);
    // Focus phrasings are among the trained ones, and both lists are kept, not composed again.
    const trainedSet = new Set(trained);
    expect(sorting.focus!.filter((phrasing) => !trainedSet.has(phrasing))).toEqual([]);
    expect(sorting.trained).toBe(trained);
    expect(sorting.focus).toBe(sorting.focus);
    expect(calls()).toBe(afterFirstRead);
  });
});
