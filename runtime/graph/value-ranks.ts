import type { Graph, Node, Tensor } from './ir.ts';

/**
 * The rank of every value in a graph, inferred from input and initializer shapes. Gradient rules need
 * ranks (a MatMul's transpose permutation, how many leading axes a broadcast added) but not the sizes,
 * which stay dynamic and are read at run time with Shape. Values whose rank cannot be known statically
 * (a Reshape to a computed shape) are left out; a rule that needs one fails with the value's name.
 */
export function inferRanks(graph: Pick<Graph, 'inputs' | 'initializers' | 'nodes'>): Map<string, number> {
  const ranks = new Map<string, number>();
  for (const v of graph.inputs) ranks.set(v.name, v.shape.length);
  for (const [name, t] of graph.initializers) ranks.set(name, t.shape.length);
  const constant = (name: string | undefined) => (name === undefined ? undefined : graph.initializers.get(name));
  for (const node of graph.nodes) {
    const r = nodeRanks(node, (v) => ranks.get(v), constant);
    r.forEach((rank, i) => {
      if (rank !== undefined && node.outputs[i]) ranks.set(node.outputs[i], rank);
    });
  }
  return ranks;
}

const SAME_RANK = new Set([
  'Sqrt', 'Tanh', 'Relu', 'Erf', 'Abs', 'Log', 'Exp', 'Neg', 'Cast', 'Identity', 'Softmax', 'LogSoftmax',
  'Not', 'Transpose', 'Concat', 'GatherElements', 'ScatterND', 'ScatterElements', 'Sign', 'Reciprocal',
  'Sigmoid', 'ConstantOfShape',
]);
const BROADCASTING = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Where', 'Min', 'Max', 'Less', 'Greater', 'LessOrEqual',
  'GreaterOrEqual', 'Equal', 'And', 'Or',
]);

function nodeRanks(
  node: Node,
  rank: (v: string) => number | undefined,
  constant: (v: string | undefined) => Tensor | undefined,
): (number | undefined)[] {
  const r0 = rank(node.inputs[0]);
  const constLength = (i: number) => constant(node.inputs[i])?.data.length;
  const keepdims = node.attrs.keepdims?.kind === 'int' ? node.attrs.keepdims.value : 1;
  if (node.op === 'ConstantOfShape') return [constLength(0)];
  if (SAME_RANK.has(node.op)) return [r0];
  if (BROADCASTING.has(node.op)) {
    const rs = node.inputs.map(rank);
    return [rs.some((r) => r === undefined) ? undefined : Math.max(...(rs as number[]))];
  }
  switch (node.op) {
    case 'MatMul': {
      const r1 = rank(node.inputs[1]);
      return [r0 === undefined || r1 === undefined ? undefined : Math.max(r0, r1)];
    }
    case 'Reshape':
    case 'Expand': {
      const n = constLength(1);
      return [n === undefined ? undefined : node.op === 'Expand' && r0 !== undefined ? Math.max(n, r0) : n];
    }
    case 'Gather': {
      const r1 = rank(node.inputs[1]);
      return [r0 === undefined || r1 === undefined ? undefined : r0 - 1 + r1];
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const n = constLength(1);
      if (r0 === undefined || n === undefined) return [undefined];
      return [node.op === 'Unsqueeze' ? r0 + n : r0 - n];
    }
    case 'ReduceMean':
    case 'ReduceSum': {
      const axes = node.attrs.axes?.kind === 'ints' ? node.attrs.axes.value.length : constLength(1);
      if (r0 === undefined) return [undefined];
      if (keepdims) return [r0];
      return [axes === undefined ? 0 : r0 - axes];
    }
    case 'SoftmaxCrossEntropyLoss': {
      const reduction = node.attrs.reduction?.kind === 'string' ? node.attrs.reduction.value : 'mean';
      return [reduction === 'none' ? rank(node.inputs[1]) : 0, r0];
    }
    case 'Shape':
    case 'Range':
      return [1];
    case 'Size':
      return [0];
    case 'NonZero':
      return [2];
    case 'Split':
      return node.outputs.map(() => r0);
    default:
      return node.outputs.map(() => undefined);
  }
}
