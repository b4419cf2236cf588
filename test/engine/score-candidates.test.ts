import { describe, expect, it } from 'vitest';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { SafetensorsFile } from '../../runtime/checkpoint/safetensors.ts';
import { scoreCandidates, scoreTargetIds } from '../../runtime/engine/score-candidates.ts';
import { createEngine, modelRefFor } from '../../runtime/engine/engine-core.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { hasShared, referenceDir, referenceModels, rowsOf } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';

describe.skipIf(!hasShared).each(referenceModels)('rank-classification scores against the PyTorch reference: %s', (model) => {
  it("sum to the reference's teacher-forced loss (mean negative log-likelihood of the labels)", async () => {
    const { config, weights, generationConfig } = loadModelDir(`${referenceDir}/${model}`, { requireTokenizer: false });
    const file = SafetensorsFile.open(`${referenceDir}/${model}/expected.safetensors`);
    const ints = (name: string) => rowsOf(file.readInt64AsNumbers(name), file.info(name).shape[1]);
    const [inputIds, mask, labels] = [ints('input_ids'), ints('attention_mask'), ints('labels')];
    const loss = file.readFloat32('loss')[0];
    file.close();
    const runner = await T5Runner.fromWeights(config, weights, { device: 'cpu', threads: 1 });
    try {
      let total = 0;
      let tokens = 0;
      for (let row = 0; row < inputIds.length; row++) {
        const prompt = inputIds[row].filter((_, i) => mask[row][i] === 1);
        const [score] = await scoreTargetIds(runner, prompt, [labels[row].filter((t) => t !== -100)], generationConfig.decoderStartTokenId);
        total += score.logprob;
        tokens += score.tokens;
      }
      expect(Math.abs(-total / tokens - loss) / loss).toBeLessThan(1e-5);
    } finally {
      await runner.release();
    }
  });
});

describe.skipIf(!hasShared)('scoreCandidates', () => {
  it('scores candidates of different lengths in one batch exactly as one at a time', async () => {
    const { config, weights, tokenizer, generationConfig } = loadModelDir(makeTinyModelDir({ seed: 9 }));
    const runner = await T5Runner.fromWeights(config, weights, { device: 'cpu', threads: 1 });
    const model = { runner, tokenizer: tokenizer!, decoderStartTokenId: generationConfig.decoderStartTokenId };
    try {
      const prompt = 'Is this review positive or negative? The acting was brilliant.';
      const candidates = ['positive', 'negative', 'it is hard to say for sure'];
      const together = await scoreCandidates(model, prompt, candidates);
      for (const [i, candidate] of candidates.entries()) {
        const [alone] = await scoreCandidates(model, prompt, [candidate]);
        expect(together[i].tokens).toBe(tokenizer!.encode(candidate).length);
        expect(together[i].logprob).toBeCloseTo(alone.logprob, 4);
        expect(together[i].logprob).toBeLessThan(0);
      }
      await expect(scoreCandidates(model, prompt, [])).rejects.toThrow(/between 1 and 64 candidates/);
    } finally {
      await runner.release();
    }
  });
});

describe.skipIf(!hasShared)('EngineCore.score', () => {
  it('finishes a pass on its version when that version is unloaded under it, and scores each version on its own weights', async () => {
    const session = { device: 'cpu' as const, threads: 1 };
    const engine = await createEngine({ modelDir: makeTinyModelDir({ seed: 2 }), modelId: 'a', session });
    const other = modelRefFor(makeTinyModelDir({ seed: 3 }), 'b');
    try {
      const request = { prompt: 'Is this review positive or negative? The acting was brilliant.', candidates: ['positive', 'negative'] };
      const expected = (await engine.score(request)).scores;
      const pass = engine.score(request);
      await engine.unload('a');
      const { scores } = await pass;
      scores.forEach((s, i) => expect(s.logprob).toBeCloseTo(expected[i].logprob, 5));
      // Another version scores on its own weights.
      expect((await engine.score({ ...request, model: other })).scores[0].logprob).not.toBeCloseTo(expected[0].logprob, 3);
    } finally {
      await engine.close();
    }
  });
});
