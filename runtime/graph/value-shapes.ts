import type { Graph, Node, Tensor } from './ir.ts';

/**
 * Symbolic shapes of a graph's values: each dimension a number, a symbol shared with the graph's
 * input declarations ('batch', 'source'), or null when it cannot be known before run time. Gradient
 * rules need ranks (a MatMul's transpose permutation) and, for broadcasting ops, whether an input's
 * dimension is provably the output's or provably 1: then the reduction back to the input's shape is
 * decided here and not by shape arithmetic at run time. A value whose rank is unknown is absent.
 */
export type SymDim = number | string | null;
export type SymShape = SymDim[];

export function inferShapes(graph: Pick<Graph, 'inputs' | 'initializers' | 'nodes'>): Map<string, SymShape> {
  const shapes = new Map<string, SymShape>();
  for (const v of graph.inputs) shapes.set(v.name, [...v.shape]);
  for (const [name, t] of graph.initializers) shapes.set(name, [...t.shape]);
  const constant = (name: string | undefined) => (name === undefined ? undefined : graph.initializers.get(name));
  const values = new Map<string, SymDim[]>();
  for (const node of graph.nodes) {
    const rangeLength = trackShapeValues(node, values, (v) => shapes.get(v), constant);
    if (rangeLength !== undefined) {
      shapes.set(node.outputs[0], [rangeLength]);
      continue;
    }
    nodeShapes(node, (v) => shapes.get(v), constant).forEach((shape, i) => {
      if (shape !== undefined && node.outputs[i]) shapes.set(node.outputs[i], shape);
    });
  }
  return shapes;
}

/**
 * Follows the elements of small int64 tensors computed from shapes (Shape -> Gather -> Squeeze), so
 * that Range(0, length, 1) over a sequence length gets that length as its dimension: T5's position
 * biases are built this way. Returns the Range's length when the node is such a Range.
 */
function trackShapeValues(
  node: Node,
  values: Map<string, SymDim[]>,
  shapeOf: (v: string) => SymShape | undefined,
  constant: (v: string) => Tensor | undefined,
): SymDim | undefined {
  const valueOf = (v: string) => values.get(v) ?? constInts(constant(v));
  const out = node.outputs[0];
  switch (node.op) {
    case 'Shape': {
      const s = shapeOf(node.inputs[0]);
      if (s) values.set(out, s);
      return undefined;
    }
    case 'Gather': {
      const data = values.get(node.inputs[0]);
      const idx = constInts(constant(node.inputs[1]));
      if (data && idx) values.set(out, idx.map((i) => data[i < 0 ? i + data.length : i]));
      return undefined;
    }
    case 'Squeeze':
    case 'Unsqueeze':
    case 'Reshape':
    case 'Identity': {
      const v = values.get(node.inputs[0]);
      if (v && v.length === 1) values.set(out, v);
      return undefined;
    }
    case 'Range': {
      const [start, limit, delta] = node.inputs.map(valueOf);
      return start?.[0] === 0 && delta?.[0] === 1 && limit?.length === 1 ? limit[0] : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Broadcasting of two dimensions, trusting the graph to be valid. A symbol may be 1 at run time, so
 * only a number above 1 settles a pairing with an unknown or a different symbol.
 */
export function broadcastDim(a: SymDim, b: SymDim): SymDim {
  if (a === b) return a;
  if (a === 1) return b;
  if (b === 1) return a;
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return null;
}

export function broadcastShapes(shapes: SymShape[]): SymShape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const padded = shapes.map((s) => [...new Array<SymDim>(rank - s.length).fill(1), ...s]);
  return Array.from({ length: rank }, (_, i) => padded.map((s) => s[i]).reduce(broadcastDim));
}

const SAME_SHAPE = new Set([
  'Sqrt', 'Tanh', 'Relu', 'Erf', 'Abs', 'Log', 'Exp', 'Neg', 'Cast', 'Identity', 'Softmax', 'LogSoftmax',
  'Not', 'GatherElements', 'ScatterND', 'ScatterElements', 'Sign', 'Reciprocal', 'Sigmoid',
]);
const BROADCASTING = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Where', 'Min', 'Max', 'Less', 'Greater', 'LessOrEqual',
  'GreaterOrEqual', 'Equal', 'And', 'Or',
]);

const intsAttr = (node: Node, name: string) => (node.attrs[name]?.kind === 'ints' ? (node.attrs[name].value as number[]) : undefined);
const intAttr = (node: Node, name: string, fallback: number) => (node.attrs[name]?.kind === 'int' ? (node.attrs[name].value as number) : fallback);
const constInts = (t: Tensor | undefined) => (t && t.data instanceof BigInt64Array ? Array.from(t.data, Number) : undefined);
const unknown = (rank: number): SymShape => new Array<SymDim>(rank).fill(null);

function nodeShapes(
  node: Node,
  shapeOf: (v: string) => SymShape | undefined,
  constant: (v: string | undefined) => Tensor | undefined,
): (SymShape | undefined)[] {
  const x = shapeOf(node.inputs[0]);
  if (SAME_SHAPE.has(node.op)) return [x && [...x]];
  if (BROADCASTING.has(node.op)) {
    const all = node.inputs.map(shapeOf);
    return [all.every((s) => s !== undefined) ? broadcastShapes(all as SymShape[]) : undefined];
  }
  const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
  switch (node.op) {
    case 'MatMul': {
      const y = shapeOf(node.inputs[1]);
      if (!x || !y || x.length < 2 || y.length < 2) return [undefined];
      const batch = broadcastShapes([x.slice(0, -2), y.slice(0, -2)]);
      return [[...batch, x[x.length - 2], y[y.length - 1]]];
    }
    case 'Transpose': {
      if (!x) return [undefined];
      const perm = intsAttr(node, 'perm') ?? x.map((_, i) => x.length - 1 - i);
      return [perm.map((p) => x[p])];
    }
    case 'Reshape': {
      const target = constInts(constant(node.inputs[1]));
      if (!target) return [undefined];
      return [target.map((d, i) => (d === 0 ? (x?.[i] ?? null) : d === -1 ? null : d))];
    }
    case 'Expand': {
      const target = constInts(constant(node.inputs[1]));
      return [x && target ? broadcastShapes([x, target]) : undefined];
    }
    case 'Gather': {
      const idx = shapeOf(node.inputs[1]);
      if (!x || !idx) return [undefined];
      const axis = norm(intAttr(node, 'axis', 0), x.length);
      return [[...x.slice(0, axis), ...idx, ...x.slice(axis + 1)]];
    }
    case 'Unsqueeze': {
      const axes = constInts(constant(node.inputs[1]));
      if (!x || !axes) return [undefined];
      const rank = x.length + axes.length;
      const inserted = new Set(axes.map((a) => norm(a, rank)));
      const out: SymShape = [];
      let next = 0;
      for (let i = 0; i < rank; i++) out.push(inserted.has(i) ? 1 : x[next++]);
      return [out];
    }
    case 'Squeeze': {
      const axes = constInts(constant(node.inputs[1]));
      if (!x || !axes) return [undefined];
      const removed = new Set(axes.map((a) => norm(a, x.length)));
      return [x.filter((_, i) => !removed.has(i))];
    }
    case 'ReduceMean':
    case 'ReduceSum': {
      if (!x) return [undefined];
      const axes = intsAttr(node, 'axes') ?? constInts(constant(node.inputs[1]));
      const reduced = new Set((axes ?? x.map((_, i) => i)).map((a) => norm(a, x.length)));
      if (intAttr(node, 'keepdims', 1)) return [x.map((d, i) => (reduced.has(i) ? 1 : d))];
      return [x.filter((_, i) => !reduced.has(i))];
    }
    case 'Concat': {
      const all = node.inputs.map(shapeOf);
      if (all.some((s) => s === undefined)) return [undefined];
      const shapes = all as SymShape[];
      const axis = norm(intAttr(node, 'axis', 0), shapes[0].length);
      const sizes = shapes.map((s) => s[axis]);
      const out = [...shapes[0]];
      out[axis] = sizes.every((d) => typeof d === 'number') ? (sizes as number[]).reduce((a, b) => a + b, 0) : null;
      return [out];
    }
    case 'ConstantOfShape': {
      const dims = constInts(constant(node.inputs[0]));
      const len = shapeOf(node.inputs[0])?.[0];
      return [dims ?? (typeof len === 'number' ? unknown(len) : undefined)];
    }
    case 'SoftmaxCrossEntropyLoss': {
      const reduction = node.attrs.reduction?.kind === 'string' ? node.attrs.reduction.value : 'mean';
      const labels = shapeOf(node.inputs[1]);
      return [reduction === 'none' ? labels && [...labels] : [], x && [...x]];
    }
    case 'Shape':
      return [x ? [x.length] : [null]];
    case 'Size':
      return [[]];
    case 'Range':
      return [[null]];
    case 'NonZero':
      return [[x ? x.length : null, null]];
    case 'Split': {
      if (!x) return node.outputs.map(() => undefined);
      const axis = norm(intAttr(node, 'axis', 0), x.length);
      const sizes = constInts(constant(node.inputs[1]));
      return node.outputs.map((_, i) => x.map((d, j) => (j === axis ? (sizes?.[i] ?? null) : d)));
    }
    default:
      return node.outputs.map(() => undefined);
  }
}
