import type { GraphBuilder } from './graph-builder.ts';
import { attr, type Node } from './ir.ts';
import type { SymShape } from './value-shapes.ts';

/**
 * Each differentiable op's backward rule, next to a one-line statement of its forward, in the style
 * of micrograd. A rule receives the gradient of the node's outputs and emits, with the builder, the
 * gradient of each input that needs one (ctx.needs(i)); it returns undefined for the others.
 * Broadcasting ops reduce their input gradients back to the input's shape with ctx.unbroadcast.
 * Every rule is checked against finite differences in test/graph/autodiff-ops.test.ts.
 */

export interface GradientContext {
  g: GraphBuilder;
  node: Node;
  /** Gradient of output i (undefined when nothing downstream of it reaches the loss). */
  dy: (string | undefined)[];
  needs(input: number): boolean;
  rank(value: string): number;
  /** The symbolic shape of a forward value (see value-shapes.ts). */
  shape(value: string): SymShape;
  /** The integer values of a constant input (an initializer), e.g. Unsqueeze's axes. */
  constInts(value: string): number[] | undefined;
  /** The value of a constant scalar float input (Pow's exponent). */
  constFloat(value: string): number | undefined;
  /**
   * Sums a gradient of the broadcast result down to the shape of `like` (an input of the node).
   * `gradShape` is the gradient's symbolic shape when it is not the node output's.
   */
  unbroadcast(grad: string, like: string, gradShape?: SymShape): string;
}

export type GradientRule = (ctx: GradientContext) => (string | undefined)[];

const intAttr = (node: Node, name: string, fallback: number) => {
  const a = node.attrs[name];
  return a?.kind === 'int' ? a.value : fallback;
};
const intsAttr = (node: Node, name: string) => {
  const a = node.attrs[name];
  return a?.kind === 'ints' ? a.value : undefined;
};

/** Only the inputs that need a gradient are computed: constants and int paths are skipped. */
function each(ctx: GradientContext, ...grads: (() => string)[]): (string | undefined)[] {
  return grads.map((make, i) => (ctx.needs(i) ? make() : undefined));
}

function need(dy: string | undefined, node: Node): string {
  if (dy === undefined) throw new Error(`${node.op} ${node.name}: no gradient for its first output`);
  return dy;
}

/** [..., a, b] -> [..., b, a] */
function swapLastTwo(ctx: GradientContext, x: string): string {
  const r = ctx.rank(x);
  const perm = Array.from({ length: r }, (_, i) => i);
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return ctx.g.transpose(x, perm);
}

/** dy of a reduction spread back over the reduced axes of x (keepdims or not). */
function expandReduced(ctx: GradientContext, dy: string, x: string, axes: number[] | undefined): string {
  const { g, node } = ctx;
  let grad = dy;
  if (!intAttr(node, 'keepdims', 1) && axes !== undefined && axes.length > 0) {
    const r = ctx.rank(x);
    grad = g.unsqueeze(dy, axes.map((a) => (a < 0 ? a + r : a)).sort((a, b) => a - b));
  }
  return g.op('Expand', [grad, g.shape(x)]);
}

function reduceAxes(ctx: GradientContext): number[] | undefined {
  return intsAttr(ctx.node, 'axes') ?? (ctx.node.inputs[1] ? ctx.constInts(ctx.node.inputs[1]) : undefined);
}

/** A float scalar constant usable with any float tensor via broadcasting. */
const scalar = (g: GraphBuilder, v: number) => g.constFloat(v);

export const gradientRules: Record<string, GradientRule> = {
  // y = a + b (broadcasting)
  Add: (ctx) => {
    const dy = need(ctx.dy[0], ctx.node);
    const [a, b] = ctx.node.inputs;
    return each(ctx, () => ctx.unbroadcast(dy, a), () => ctx.unbroadcast(dy, b));
  },
  // y = a - b
  Sub: (ctx) => {
    const dy = need(ctx.dy[0], ctx.node);
    const [a, b] = ctx.node.inputs;
    return each(ctx, () => ctx.unbroadcast(dy, a), () => ctx.unbroadcast(ctx.g.op('Neg', [dy]), b));
  },
  // y = a * b
  Mul: (ctx) => {
    const { g } = ctx;
    const dy = need(ctx.dy[0], ctx.node);
    const [a, b] = ctx.node.inputs;
    return each(ctx, () => ctx.unbroadcast(g.mul(dy, b), a), () => ctx.unbroadcast(g.mul(dy, a), b));
  },
  // y = a / b;  dy/db = -a / b^2 = -y / b
  Div: (ctx) => {
    const { g } = ctx;
    const dy = need(ctx.dy[0], ctx.node);
    const [a, b] = ctx.node.inputs;
    const y = ctx.node.outputs[0];
    return each(
      ctx,
      () => ctx.unbroadcast(g.div(dy, b), a),
      () => ctx.unbroadcast(g.op('Neg', [g.div(g.mul(dy, y), b)]), b),
    );
  },
  // y = a ^ b;  dy/da = b a^(b-1), dy/db = y ln a
  Pow: (ctx) => {
    const { g } = ctx;
    const dy = need(ctx.dy[0], ctx.node);
    const [a, b] = ctx.node.inputs;
    const y = ctx.node.outputs[0];
    const da = () => {
      const exponent = ctx.constFloat(b);
      // Constant exponents (x^2 in RMSNorm, x^3 in GELU) avoid a Pow with a computed exponent.
      const local =
        exponent === 2
          ? g.mul(a, scalar(g, 2))
          : exponent !== undefined
            ? g.mul(g.pow(a, scalar(g, exponent - 1)), scalar(g, exponent))
            : g.mul(g.pow(a, g.sub(b, scalar(g, 1))), b);
      return ctx.unbroadcast(g.mul(dy, local), a);
    };
    return each(ctx, da, () => ctx.unbroadcast(g.mul(dy, g.mul(y, g.log(a))), b));
  },
  // y = sqrt(x);  dy/dx = 1 / (2 y)
  Sqrt: (ctx) => {
    const { g } = ctx;
    const dy = need(ctx.dy[0], ctx.node);
    return each(ctx, () => g.div(g.mul(dy, scalar(g, 0.5)), ctx.node.outputs[0]));
  },
  // y = tanh(x);  dy/dx = 1 - y^2
  Tanh: (ctx) => {
    const { g } = ctx;
    const dy = need(ctx.dy[0], ctx.node);
    const y = ctx.node.outputs[0];
    return each(ctx, () => g.mul(dy, g.sub(scalar(g, 1), g.mul(y, y))));
  },
  // y = max(x, 0);  the subgradient at 0 is 0, as in PyTorch
  Relu: (ctx) => {
    const { g } = ctx;
    const dy = need(ctx.dy[0], ctx.node);
    return each(ctx, () => g.where(g.greater(ctx.node.inputs[0], scalar(g, 0)), dy, scalar(g, 0)));
  },
  // y = erf(x);  dy/dx = 2/sqrt(pi) exp(-x^2)
  Erf: (ctx) => {
    const { g } = ctx;
    const dy = need(ctx.dy[0], ctx.node);
    const x = ctx.node.inputs[0];
    const bell = g.op('Exp', [g.op('Neg', [g.mul(x, x)])]);
    return each(ctx, () => g.mul(dy, g.mul(bell, scalar(g, 2 / Math.sqrt(Math.PI)))));
  },
  // y = exp(x)
  Exp: (ctx) => each(ctx, () => ctx.g.mul(need(ctx.dy[0], ctx.node), ctx.node.outputs[0])),
  // y = ln(x)
  Log: (ctx) => each(ctx, () => ctx.g.div(need(ctx.dy[0], ctx.node), ctx.node.inputs[0])),
  // y = -x
  Neg: (ctx) => each(ctx, () => ctx.g.op('Neg', [need(ctx.dy[0], ctx.node)])),
  // y = x (Cast between float types is the identity for gradients; int casts never carry one)
  Identity: (ctx) => each(ctx, () => need(ctx.dy[0], ctx.node)),
  Cast: (ctx) => each(ctx, () => need(ctx.dy[0], ctx.node)),
  // y = a @ b, batch dimensions broadcasting
  MatMul: (ctx) => {
    const { g } = ctx;
    const dy = need(ctx.dy[0], ctx.node);
    const [a, b] = ctx.node.inputs;
    const ra = ctx.rank(a);
    const rb = ctx.rank(b);
    if (ra < 2 || rb < 2) throw new Error(`MatMul ${ctx.node.name}: vector operands are not differentiated`);
    // dA and dB carry the result's (broadcast) batch dimensions and the operand's own last two.
    const batch = ctx.shape(ctx.node.outputs[0]).slice(0, -2);
    const da = () => ctx.unbroadcast(g.matmul(dy, swapLastTwo(ctx, b)), a, [...batch, ...ctx.shape(a).slice(-2)]);
    const db = () => {
      if (rb === 2 && ra > 2) {
        // x @ W over a batch: fold the batch into rows so dW is one [K, M] @ [M, N] product, not a
        // batched product summed afterwards.
        const rows = (v: string, width: SymShape[number]) =>
          typeof width === 'number' ? g.reshape(v, [-1, width]) : g.reshapeTo(v, g.concat([g.constInt64([-1]), g.dim(v, -1)], 0));
        return g.matmul(g.transpose(rows(a, ctx.shape(a).at(-1)!), [1, 0]), rows(dy, ctx.shape(ctx.node.outputs[0]).at(-1)!));
      }
      return ctx.unbroadcast(g.matmul(swapLastTwo(ctx, a), dy), b, [...batch, ...ctx.shape(b).slice(-2)]);
    };
    return each(ctx, da, db);
  },
  // y = mean of x over axes
  ReduceMean: (ctx) => {
    const { g } = ctx;
    const dy = need(ctx.dy[0], ctx.node);
    const x = ctx.node.inputs[0];
    const y = ctx.node.outputs[0];
    // The number of elements averaged: a constant when the reduced dimensions are known.
    const xs = ctx.shape(x);
    const axes = (reduceAxes(ctx) ?? xs.map((_, i) => i)).map((a) => (a < 0 ? a + xs.length : a));
    const reduced = axes.map((a) => xs[a]);
    const count = reduced.every((d) => typeof d === 'number')
      ? g.constFloat((reduced as number[]).reduce((p, d) => p * d, 1))
      : g.cast(g.div(g.op('Size', [x]), g.op('Size', [y])), 'float32');
    return each(ctx, () => g.div(expandReduced(ctx, dy, x, reduceAxes(ctx)), count));
  },
  // y = sum of x over axes
  ReduceSum: (ctx) => each(ctx, () => expandReduced(ctx, need(ctx.dy[0], ctx.node), ctx.node.inputs[0], reduceAxes(ctx))),
  // y = exp(x) / sum exp(x) along axis;  dx = y (dy - sum(dy y))
  Softmax: (ctx) => {
    const { g } = ctx;
    const dy = need(ctx.dy[0], ctx.node);
    const y = ctx.node.outputs[0];
    const axis = g.constInt64([intAttr(ctx.node, 'axis', -1)]);
    const dot = g.op('ReduceSum', [g.mul(dy, y), axis], { keepdims: attr.int(1) });
    return each(ctx, () => g.mul(y, g.sub(dy, dot)));
  },
  // y = x - log sum exp(x) along axis;  dx = dy - softmax(x) sum(dy)
  LogSoftmax: (ctx) => {
    const { g } = ctx;
    const dy = need(ctx.dy[0], ctx.node);
    const axis = g.constInt64([intAttr(ctx.node, 'axis', -1)]);
    const total = g.op('ReduceSum', [dy, axis], { keepdims: attr.int(1) });
    return each(ctx, () => g.sub(dy, g.mul(g.op('Exp', [ctx.node.outputs[0]]), total)));
  },
  // Shape-only ops: the gradient is dy laid back out in x's shape.
  Reshape: (ctx) => each(ctx, () => ctx.g.reshapeTo(need(ctx.dy[0], ctx.node), ctx.g.shape(ctx.node.inputs[0]))),
  Unsqueeze: (ctx) => each(ctx, () => ctx.g.reshapeTo(need(ctx.dy[0], ctx.node), ctx.g.shape(ctx.node.inputs[0]))),
  Squeeze: (ctx) => each(ctx, () => ctx.g.reshapeTo(need(ctx.dy[0], ctx.node), ctx.g.shape(ctx.node.inputs[0]))),
  // y = x with axes permuted;  dx = dy with the inverse permutation
  Transpose: (ctx) => {
    const x = ctx.node.inputs[0];
    const perm = intsAttr(ctx.node, 'perm') ?? Array.from({ length: ctx.rank(x) }, (_, i) => ctx.rank(x) - 1 - i);
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return each(ctx, () => ctx.g.transpose(need(ctx.dy[0], ctx.node), inverse));
  },
  // y = broadcast of x to a shape
  Expand: (ctx) => each(ctx, () => ctx.unbroadcast(need(ctx.dy[0], ctx.node), ctx.node.inputs[0])),
  // y = data[indices] along axis 0 (embedding lookup). Repeated indices must accumulate, which
  // ScatterND's 'add' reduction does.
  Gather: (ctx) => {
    const { g, node } = ctx;
    if (intAttr(node, 'axis', 0) !== 0) throw new Error(`Gather ${node.name}: only axis 0 is differentiated`);
    const dy = need(ctx.dy[0], node);
    const [data, indices] = node.inputs;
    const zeros = g.op('ConstantOfShape', [g.shape(data)], { value: attr.tensor({ dtype: 'float32', shape: [1], data: new Float32Array([0]) }) });
    const index = g.unsqueeze(indices, [-1]);
    return each(ctx, () => g.op('ScatterND', [zeros, index, dy], { reduction: attr.string('add') }));
  },
  // y = data[..., indices, ...] elementwise along axis
  GatherElements: (ctx) => {
    const { g, node } = ctx;
    const dy = need(ctx.dy[0], node);
    const [data, indices] = node.inputs;
    const zeros = g.op('ConstantOfShape', [g.shape(data)], { value: attr.tensor({ dtype: 'float32', shape: [1], data: new Float32Array([0]) }) });
    const axis = attr.int(intAttr(node, 'axis', 0));
    return each(ctx, () => g.op('ScatterElements', [zeros, indices, dy], { axis, reduction: attr.string('add') }));
  },
  // y = [x0 | x1 | ...] along axis;  each dx_i is its slice of dy
  Concat: (ctx) => {
    const { g, node } = ctx;
    const dy = need(ctx.dy[0], node);
    const axis = intAttr(node, 'axis', 0);
    const known = node.inputs.map((x) => ctx.shape(x).at(axis));
    const sizes = known.every((d) => typeof d === 'number')
      ? g.constInt64(known as number[])
      : g.concat(node.inputs.map((x) => g.dim(x, axis)), 0);
    const parts = g.opMulti('Split', [dy, sizes], node.inputs.length, { axis: attr.int(axis) });
    return node.inputs.map((_, i) => (ctx.needs(i) ? parts[i] : undefined));
  },
  // [y0, y1, ...] = x cut along axis;  dx is the dy_i laid end to end (zeros for an unused piece)
  Split: (ctx) => {
    const { g, node } = ctx;
    const pieces = node.outputs.map((y, i) => ctx.dy[i] ?? g.op('ConstantOfShape', [g.shape(y)], { value: attr.tensor({ dtype: 'float32', shape: [1], data: new Float32Array([0]) }) }));
    return each(ctx, () => g.concat(pieces, intAttr(node, 'axis', 0)));
  },
  // y = cond ? a : b
  Where: (ctx) => {
    const { g } = ctx;
    const dy = need(ctx.dy[0], ctx.node);
    const [cond, a, b] = ctx.node.inputs;
    const zero = scalar(g, 0);
    return [
      undefined,
      ctx.needs(1) ? ctx.unbroadcast(g.where(cond, dy, zero), a) : undefined,
      ctx.needs(2) ? ctx.unbroadcast(g.where(cond, zero, dy), b) : undefined,
    ];
  },
  // loss_i = -log softmax(scores_i)[label_i], 0 where label_i == ignore_index; reduced by 'none',
  // 'sum' or 'mean' (over the counted labels, as PyTorch's CrossEntropyLoss). scores: [N, C].
  SoftmaxCrossEntropyLoss: (ctx) => {
    const { g, node } = ctx;
    const dy = need(ctx.dy[0], node);
    const [scores, labels] = node.inputs;
    if (ctx.rank(scores) !== 2) throw new Error(`SoftmaxCrossEntropyLoss ${node.name}: only [N, C] scores are differentiated`);
    const ignore = node.attrs.ignore_index?.kind === 'int' ? node.attrs.ignore_index.value : undefined;
    const reduction = node.attrs.reduction?.kind === 'string' ? node.attrs.reduction.value : 'mean';
    const counted = ignore === undefined ? undefined : g.op('Not', [g.op('Equal', [labels, g.constInt64(ignore)])]);
    // OneHot reads a negative label as counted from the end, so ignored labels become 0 first.
    const safe = counted === undefined ? labels : g.where(counted, labels, g.constInt64(0));
    const classes = g.dim(scores, 1);
    const oneHot = g.op('OneHot', [safe, classes, g.constFloat([0, 1])], { axis: attr.int(-1) });
    const weight = counted === undefined ? undefined : g.cast(counted, 'float32'); // [N]
    let perRow: string; // [N]: the gradient each row's loss receives
    if (reduction === 'none') perRow = dy;
    else {
      const rows = weight === undefined ? g.cast(g.dim(scores, 0), 'float32') : g.op('ReduceSum', [weight], { keepdims: attr.int(0) });
      perRow = g.op('Expand', [reduction === 'mean' ? g.div(dy, rows) : dy, g.shape(labels)]);
    }
    if (weight !== undefined) perRow = g.mul(perRow, weight);
    const diff = g.sub(g.softmax(scores, 1), oneHot);
    return each(ctx, () => g.mul(diff, g.unsqueeze(perRow, [1])));
  },
};

/** Ops whose outputs carry no gradient (shapes, comparisons, index arithmetic). */
export const nonDifferentiableOps = new Set([
  'Shape', 'Size', 'Range', 'NonZero', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And',
  'Or', 'Not', 'ArgMax', 'ArgMin', 'OneHot', 'ConstantOfShape', 'Sign',
]);
