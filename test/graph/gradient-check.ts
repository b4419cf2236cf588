import { buildGradientGraph, gradName } from '../../runtime/graph/autodiff.ts';
import { GraphBuilder } from '../../runtime/graph/graph-builder.ts';
import { float32Tensor } from '../../runtime/graph/ir.ts';
import { serializeModel } from '../../runtime/graph/onnx-serialize.ts';
import { createSession, ort } from '../../runtime/onnx-session.ts';
import { SeededRandom } from '../../runtime/seeded-random.ts';

/**
 * Finite-difference checks of gradient rules, run through onnxruntime. The op's output is reduced
 * to a scalar with fixed random weights (loss = sum(y * w)) so every output element matters.
 */

export interface CheckInput {
  name: string;
  shape: number[];
  /** Values are drawn uniformly from [lo, hi) unless given. */
  range?: [number, number];
  values?: number[];
  /** int64 inputs (indices, labels) are fed but never differentiated. */
  int64?: boolean;
  /** Float inputs are parameters unless marked constant. */
  constant?: boolean;
  /** The shape as declared in the graph, when it should be symbolic rather than `shape`. */
  declared?: (number | string)[];
}

export interface GradientCheck {
  /** Largest norm(analytic - numeric) / norm(numeric) over the parameters. */
  worst: number;
  perParam: Record<string, number>;
}

export async function checkGradients(
  inputs: CheckInput[],
  outputShape: number[],
  body: (g: GraphBuilder, ...values: string[]) => string,
  seed = 7,
): Promise<GradientCheck> {
  const rng = SeededRandom.fromSeed(seed);
  const g = new GraphBuilder('check');
  const values = inputs.map((x) => g.input(x.name, x.int64 ? 'int64' : 'float32', x.declared ?? x.shape));
  const y = body(g, ...values);
  const count = outputShape.reduce((a, b) => a * b, 1);
  const weights = g.initializer('loss_weights', float32Tensor(outputShape, Array.from({ length: count }, () => rng.next() * 2 - 1)));
  const loss = g.op('ReduceSum', [g.mul(y, weights)], { keepdims: { kind: 'int', value: 0 } });
  g.output(loss, 'loss', 'float32', []);
  const forward = g.build();
  const params = inputs.filter((x) => !x.int64 && !x.constant).map((x) => x.name);
  const backward = buildGradientGraph(forward, 'loss', params);

  const feeds: Record<string, ort.Tensor> = {};
  const data: Record<string, Float32Array> = {};
  for (const x of inputs) {
    const n = x.shape.reduce((a, b) => a * b, 1);
    const [lo, hi] = x.range ?? [-1, 1];
    const vals = x.values ?? Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
    if (x.int64) feeds[x.name] = new ort.Tensor('int64', BigInt64Array.from(vals, (v) => BigInt(v)), x.shape);
    else {
      data[x.name] = Float32Array.from(vals);
      feeds[x.name] = new ort.Tensor('float32', data[x.name], x.shape);
    }
  }
  const config = { device: 'cpu' as const, threads: 1 };
  const [fwd, bwd] = await Promise.all([createSession(serializeModel(forward), config), createSession(serializeModel(backward), config)]);
  try {
    const analytic = await bwd.run(feeds);
    const lossAt = async () => ((await fwd.run(feeds)).loss as ort.Tensor).data[0] as number;
    const perParam: Record<string, number> = {};
    for (const p of params) {
      const x = data[p];
      const numeric = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const keep = x[i];
        const h = 1e-2 * Math.max(1, Math.abs(keep));
        x[i] = keep + h;
        const up = await lossAt();
        x[i] = keep - h;
        const down = await lossAt();
        x[i] = keep;
        numeric[i] = (up - down) / (2 * h);
      }
      const got = (analytic[gradName(p)] as ort.Tensor).data as Float32Array;
      perParam[p] = relError(got, numeric);
    }
    return { worst: Math.max(...Object.values(perParam)), perParam };
  } finally {
    await Promise.all([fwd.release(), bwd.release()]);
  }
}

function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    ref += expected[i] ** 2;
  }
  return ref === 0 ? Math.sqrt(diff) : Math.sqrt(diff / ref);
}
