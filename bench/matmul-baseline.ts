import { GraphBuilder } from '../runtime/graph/graph-builder.ts';
import { serializeModel } from '../runtime/graph/onnx-serialize.ts';
import { createSession, ort, type SessionConfig } from '../runtime/onnx-session.ts';
import { SeededRandom } from '../runtime/seeded-random.ts';

/**
 * GFLOP/s of one plain MatMul [m, k] x [k, n] in onnxruntime with the same session settings: the
 * ceiling our decode and train steps are compared against.
 */
export async function matmulGflops(m: number, k: number, n: number, session: SessionConfig, seconds = 2): Promise<number> {
  const random = SeededRandom.fromSeed(7);
  const fill = (count: number) => Float32Array.from({ length: count }, () => random.normal());
  const g = new GraphBuilder('matmul');
  const a = g.input('a', 'float32', [m, k]);
  const b = g.initializer('b', { dtype: 'float32', shape: [k, n], data: fill(k * n) });
  g.output(g.matmul(a, b), 'c', 'float32', [m, n]);
  const s = await createSession(serializeModel(g.build()), session);
  const feeds = { a: new ort.Tensor('float32', fill(m * k), [m, k]) };
  await s.run(feeds);
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await s.run(feeds);
    runs++;
  }
  const elapsed = (performance.now() - start) / 1000;
  await s.release();
  return (2 * m * k * n * runs) / elapsed / 1e9;
}
