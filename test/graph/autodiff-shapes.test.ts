import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../runtime/graph/graph-builder.ts';
import { broadcastDim, inferShapes } from '../../runtime/graph/value-shapes.ts';

/** The symbolic shapes autodiff uses to settle broadcast reductions at build time. */
describe('symbolic shape inference', () => {
  it('settles broadcasting only where run-time sizes cannot change the answer', () => {
    expect(broadcastDim('batch', 1)).toBe('batch');
    expect(broadcastDim('batch', 'batch')).toBe('batch');
    expect(broadcastDim(null, 512)).toBe(512);
    // A symbol may be 1 at run time, so it does not settle a pairing with an unknown or another symbol.
    expect(broadcastDim(null, 'source')).toBeNull();
    expect(broadcastDim('source', 'target')).toBeNull();
  });

  it('follows T5 attention shapes, including a Range over a sequence length', () => {
    const g = new GraphBuilder('shapes');
    const ids = g.input('ids', 'int64', ['batch', 'source']);
    const table = g.input('table', 'float32', [100, 16]);
    const h = g.gather(table, ids); // [batch, source, 16]
    const heads = g.transpose(g.reshape(h, [0, 0, 2, 8]), [0, 2, 1, 3]);
    const scores = g.matmul(heads, g.transpose(heads, [0, 1, 3, 2]));
    const length = g.op('Squeeze', [g.dim(ids, 1), g.constInt64([0])]);
    const positions = g.op('Range', [g.constInt64(0), length, g.constInt64(1)]);
    const relative = g.sub(g.unsqueeze(positions, [0]), g.unsqueeze(positions, [1]));
    const biased = g.add(scores, g.unsqueeze(g.cast(relative, 'float32'), [0, 1]));
    const mean = g.reduceMean(biased, [-1]);
    const shapes = inferShapes(g);
    expect(shapes.get(heads)).toEqual(['batch', 2, 'source', 8]);
    expect(shapes.get(scores)).toEqual(['batch', 2, 'source', 'source']);
    expect(shapes.get(relative)).toEqual(['source', 'source']);
    expect(shapes.get(biased)).toEqual(['batch', 2, 'source', 'source']);
    expect(shapes.get(mean)).toEqual(['batch', 2, 'source', 1]);
  });
});
