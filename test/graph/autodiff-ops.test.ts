import { describe, expect, it } from 'vitest';
import { attr } from '../../runtime/graph/ir.ts';
import { checkGradients, type CheckInput } from './gradient-check.ts';

/**
 * Every gradient rule the T5 train graph relies on, against central finite differences (float32,
 * so agreement is to ~1e-3; a wrong rule is off by O(1)).
 */
const TOLERANCE = 5e-3;

const f = (name: string, shape: number[], extra: Partial<CheckInput> = {}): CheckInput => ({ name, shape, ...extra });
// Values bounded away from 0 where the op has a kink or a pole there.
const awayFromZero = (n: number, seedOffset = 0) =>
  Array.from({ length: n }, (_, i) => (((i * 7 + seedOffset) % 11) / 11 + 0.2) * (i % 3 === 0 ? -1 : 1));

interface Case {
  name: string;
  inputs: CheckInput[];
  out: number[];
  body: Parameters<typeof checkGradients>[2];
}

const cases: Case[] = [
  { name: 'Add, both sides broadcast', inputs: [f('a', [2, 3, 1]), f('b', [3, 4])], out: [2, 3, 4], body: (g, a, b) => g.add(a, b) },
  {
    name: 'Add and Mul with symbolic dims (broadcast axes found at run time)',
    inputs: [f('a', [2, 3, 4], { declared: ['x', 'y', 4] }), f('b', [3, 1], { declared: ['z', 'w'] })],
    out: [2, 3, 4],
    body: (g, a, b) => g.mul(g.add(a, b), b),
  },
  { name: 'Sub, rank-extended operand', inputs: [f('a', [2, 3, 4]), f('b', [1, 4])], out: [2, 3, 4], body: (g, a, b) => g.sub(a, b) },
  { name: 'Mul, both sides broadcast', inputs: [f('a', [2, 1, 4]), f('b', [3, 1])], out: [2, 3, 4], body: (g, a, b) => g.mul(a, b) },
  { name: 'Div', inputs: [f('a', [2, 3]), f('b', [3], { range: [0.5, 2] })], out: [2, 3], body: (g, a, b) => g.div(a, b) },
  { name: 'Pow, constant exponents 2 and 3', inputs: [f('x', [2, 5])], out: [2, 5], body: (g, x) => g.add(g.pow(x, g.constFloat(2)), g.pow(x, g.constFloat(3))) },
  { name: 'Pow, both operands', inputs: [f('x', [2, 3], { range: [0.5, 2] }), f('p', [3], { range: [0.5, 2] })], out: [2, 3], body: (g, x, p) => g.pow(x, p) },
  { name: 'Sqrt', inputs: [f('x', [7], { range: [0.5, 3] })], out: [7], body: (g, x) => g.sqrt(x) },
  { name: 'Tanh', inputs: [f('x', [7], { range: [-2, 2] })], out: [7], body: (g, x) => g.tanh(x) },
  { name: 'Relu', inputs: [f('x', [9], { values: awayFromZero(9) })], out: [9], body: (g, x) => g.relu(x) },
  { name: 'Erf', inputs: [f('x', [7], { range: [-2, 2] })], out: [7], body: (g, x) => g.op('Erf', [x]) },
  { name: 'Exp, Log, Neg', inputs: [f('x', [6], { range: [0.5, 2] })], out: [6], body: (g, x) => g.op('Neg', [g.add(g.op('Exp', [x]), g.log(x))]) },
  { name: 'ReduceMean keepdims', inputs: [f('x', [2, 3, 4])], out: [2, 3, 1], body: (g, x) => g.reduceMean(x, [-1]) },
  { name: 'ReduceMean without keepdims', inputs: [f('x', [2, 3, 4])], out: [2, 4], body: (g, x) => g.reduceMean(x, [1], false) },
  { name: 'ReduceSum over two axes', inputs: [f('x', [2, 3, 4])], out: [3], body: (g, x) => g.op('ReduceSum', [x, g.constInt64([0, 2])], { keepdims: attr.int(0) }) },
  { name: 'Softmax, last axis', inputs: [f('x', [2, 3, 5], { range: [-2, 2] })], out: [2, 3, 5], body: (g, x) => g.softmax(x, -1) },
  { name: 'Softmax, middle axis', inputs: [f('x', [2, 3, 5], { range: [-2, 2] })], out: [2, 3, 5], body: (g, x) => g.softmax(x, 1) },
  { name: 'LogSoftmax', inputs: [f('x', [3, 5], { range: [-2, 2] })], out: [3, 5], body: (g, x) => g.op('LogSoftmax', [x], { axis: attr.int(-1) }) },
  { name: 'MatMul, batch x matrix', inputs: [f('a', [2, 3, 4]), f('b', [4, 5])], out: [2, 3, 5], body: (g, a, b) => g.matmul(a, b) },
  { name: 'MatMul, broadcast batch dims', inputs: [f('a', [2, 1, 3, 4]), f('b', [3, 4, 2])], out: [2, 3, 3, 2], body: (g, a, b) => g.matmul(a, b) },
  { name: 'MatMul, matrix x batch', inputs: [f('a', [3, 4]), f('b', [2, 4, 5])], out: [2, 3, 5], body: (g, a, b) => g.matmul(a, b) },
  { name: 'Reshape and Transpose', inputs: [f('x', [2, 3, 4])], out: [2, 2, 2, 3], body: (g, x) => g.transpose(g.reshape(x, [2, 3, 2, 2]), [2, 3, 0, 1]) },
  { name: 'Transpose without perm (reverse)', inputs: [f('x', [2, 3, 4])], out: [4, 3, 2], body: (g, x) => g.op('Transpose', [x]) },
  { name: 'Unsqueeze and Squeeze', inputs: [f('x', [3, 4])], out: [3, 1, 4], body: (g, x) => g.op('Squeeze', [g.unsqueeze(x, [0, 2]), g.constInt64([0])]) },
  {
    name: 'Gather with repeated indices accumulates',
    inputs: [f('table', [5, 3]), f('ids', [2, 3], { int64: true, values: [0, 2, 2, 4, 0, 2] })],
    out: [2, 3, 3],
    body: (g, table, ids) => g.gather(table, ids),
  },
  {
    name: 'GatherElements',
    inputs: [f('x', [3, 4]), f('ids', [3, 2], { int64: true, values: [0, 3, 1, 1, 2, 0] })],
    out: [3, 2],
    body: (g, x, ids) => g.op('GatherElements', [x, ids], { axis: attr.int(1) }),
  },
  { name: 'Concat of three', inputs: [f('a', [2, 1, 3]), f('b', [2, 2, 3]), f('c', [2, 3, 3])], out: [2, 6, 3], body: (g, a, b, c) => g.concat([a, b, c], 1) },
  {
    name: 'Split, one piece unused',
    inputs: [f('x', [2, 7])],
    out: [2, 3],
    body: (g, x) => {
      const [a, , c] = g.opMulti('Split', [x, g.constInt64([3, 1, 3])], 3, { axis: attr.int(-1) });
      return g.mul(a, c);
    },
  },
  {
    name: 'Where with broadcasting',
    inputs: [f('a', [2, 3]), f('b', [3]), f('m', [2, 3], { int64: true, values: [1, 0, 1, 0, 0, 1] })],
    out: [2, 3],
    body: (g, a, b, m) => g.where(g.cast(m, 'bool'), a, b),
  },
  { name: 'Cast and Identity', inputs: [f('x', [4])], out: [4], body: (g, x) => g.op('Identity', [g.cast(x, 'float32')]) },
  { name: 'Expand', inputs: [f('x', [3, 1])], out: [2, 3, 4], body: (g, x) => g.op('Expand', [x, g.constInt64([2, 3, 4])]) },
  {
    name: 'integer paths are skipped (mask cast to float)',
    inputs: [f('x', [2, 3]), f('m', [2, 3], { int64: true, values: [1, 1, 0, 1, 0, 0] })],
    out: [2, 3],
    body: (g, x, m) => g.mul(x, g.cast(m, 'float32')),
  },
];

const crossEntropy = (reduction: string) => (g: Parameters<Case['body']>[0], scores: string, labels: string) =>
  g.op('SoftmaxCrossEntropyLoss', [scores, labels], { reduction: attr.string(reduction), ignore_index: attr.int(-100) });
cases.push(
  {
    name: 'SoftmaxCrossEntropyLoss mean, ignoring -100',
    inputs: [f('scores', [4, 6], { range: [-2, 2] }), f('labels', [4], { int64: true, values: [3, -100, 0, 5] })],
    out: [],
    body: crossEntropy('mean'),
  },
  {
    name: 'SoftmaxCrossEntropyLoss none, ignoring -100',
    inputs: [f('scores', [4, 6], { range: [-2, 2] }), f('labels', [4], { int64: true, values: [-100, 1, 1, 2] })],
    out: [4],
    body: crossEntropy('none'),
  },
);

describe('gradient rules agree with finite differences', () => {
  it.each(cases)('$name', async ({ inputs, out, body }) => {
    const { worst, perParam } = await checkGradients(inputs, out, body);
    expect(worst, JSON.stringify(perParam)).toBeLessThan(TOLERANCE);
  });
});
