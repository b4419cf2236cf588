import { describe, expect, it } from 'vitest';
import { randomT5Weights } from '../../runtime/checkpoint/random-t5.ts';
import { buildDecoderStepGraph, buildEncoderGraph } from '../../runtime/graph/t5-graphs.ts';
import { createSession } from '../../runtime/device/create-session.ts';
import { serializeModel } from '../../runtime/graph/onnx-serialize.ts';
import { int64Feed } from '../../runtime/onnx-session.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { tinyConfig } from '../finetune/tiny-model.ts';

const config = tinyConfig();
const weights = randomT5Weights(config, 3);

describe('the embedding table of a served CPU model', () => {
  it('is in neither served graph when they take inputs_embeds, and in both when they take ids', () => {
    for (const feedEmbeddings of [true, false]) {
      const graphs = [buildEncoderGraph(config, weights, [], { feedEmbeddings }), buildDecoderStepGraph(config, weights, [], { feedEmbeddings })];
      for (const g of graphs) {
        expect(g.initializers.has('shared.weight')).toBe(!feedEmbeddings);
        expect(g.inputs.map((i) => i.name)).toContain(feedEmbeddings ? 'inputs_embeds' : 'input_ids');
      }
    }
  });

  it('is looked up by the runner: its encoder states equal the graph that gathers the ids itself', async () => {
    const runner = await T5Runner.fromWeights(config, weights, { device: 'cpu', threads: 1 });
    const withIds = await createSession(serializeModel(buildEncoderGraph(config, weights)), { device: 'cpu', threads: 1 });
    const ids = int64Feed([[5, 9, 2, 1], [7, 3, 1, 0]]);
    const mask = int64Feed([[1, 1, 1, 1], [1, 1, 1, 0]]);
    try {
      const fed = await runner.encode(ids, mask);
      const gathered = (await withIds.run({ input_ids: ids, attention_mask: mask })).last_hidden_state;
      expect(fed.dims).toEqual(gathered.dims);
      expect(Array.from(fed.data as Float32Array)).toEqual(Array.from(gathered.data as Float32Array));
      await expect(runner.encode(int64Feed([[config.vocabSize]]), int64Feed([[1]]))).rejects.toThrow(/outside the vocabulary/);
    } finally {
      await Promise.all([runner.release(), withIds.release()]);
    }
  });
});
