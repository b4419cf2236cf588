import { describe, expect, it } from 'vitest';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { buildEncoderGraph } from '../../runtime/graph/t5-graphs.ts';
import { int64Feed } from '../../runtime/onnx-session.ts';
import { sessionForGraph } from '../../runtime/t5-runner.ts';
import { hasShared, referenceDir } from '../helpers/shared-fixtures.ts';

describe.skipIf(!hasShared)('ONNX external data (the path models past 2 GB take)', () => {
  it('a graph whose weights live in a side file computes what the in-memory one does', async () => {
    const { config, weights } = loadModelDir(`${referenceDir}/t5-tiny-flan-f32`);
    const graph = buildEncoderGraph(config, weights);
    const session = { device: 'cpu' as const, threads: 1 };
    const { session: inMemory } = await sessionForGraph(graph, session);
    const { session: external } = await sessionForGraph(graph, session, 0); // force the external-data path
    const feeds = { input_ids: int64Feed([[5, 9, 13, 1]]), attention_mask: int64Feed([[1, 1, 1, 1]]) };
    const a = (await inMemory.run(feeds)).last_hidden_state.data as Float32Array;
    const b = (await external.run(feeds)).last_hidden_state.data as Float32Array;
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(a.some((v) => v !== 0)).toBe(true);
    await Promise.all([inMemory.release(), external.release()]);
  });
});
