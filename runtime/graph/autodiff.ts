import { GraphBuilder } from './graph-builder.ts';
import { attr, type Graph, type Node } from './ir.ts';
import { gradientRules, nonDifferentiableOps, type GradientContext } from './op-gradients.ts';
import { inferShapes, type SymShape } from './value-shapes.ts';

/**
 * Reverse-mode differentiation over the IR. The backward pass is emitted as more nodes in the same
 * graph, so one onnxruntime run computes the loss and every gradient and the forward activations
 * stay in the runtime's memory planner instead of crossing into JS.
 */

/** The gradient output of parameter `name` in a graph made by buildGradientGraph. */
export const gradName = (param: string) => `grad.${param}`;

const FLOAT_TYPES = new Set([1, 10, 11, 16]); // float, float16, double, bfloat16

/**
 * Appends to `g` the gradient of the scalar value `loss` with respect to each of `params` (graph
 * inputs or initializers of g) and returns the value holding each gradient. Only nodes on a path
 * from a parameter to the loss are differentiated; integer paths (positions, masks, bucket ids) and
 * constants are skipped. A parameter the loss does not depend on gets a zero gradient.
 */
export function appendGradients(g: GraphBuilder, loss: string, params: readonly string[]): Map<string, string> {
  const shapes = inferShapes(g);
  const forward = [...g.nodes];
  const active = activeValues(forward, params);
  const onPath = valuesReachingLoss(forward, loss);
  const grads = new Map<string, string>();

  g.scope('grad', () => {
    grads.set(loss, g.op('ConstantOfShape', [g.shape(loss)], { value: attr.tensor({ dtype: 'float32', shape: [1], data: new Float32Array([1]) }) }));
    const accumulate = (value: string, grad: string) => {
      const prior = grads.get(value);
      grads.set(value, prior === undefined ? grad : g.add(prior, grad));
    };
    const shapeOf = (value: string) => {
      const s = shapes.get(value);
      if (s === undefined) throw new Error(`autodiff: the rank of ${value} is not known statically`);
      return s;
    };
    const rankOf = (value: string) => shapeOf(value).length;
    for (let n = forward.length - 1; n >= 0; n--) {
      const node = forward[n];
      if (!node.outputs.some((o) => grads.has(o) && onPath.has(o))) continue;
      const needs = node.inputs.map((x) => active.has(x) && onPath.has(x));
      if (!needs.some(Boolean)) continue;
      const rule = gradientRules[node.op];
      if (!rule) throw new Error(`autodiff: no gradient rule for ${node.op} (node ${node.name})`);
      const ctx: GradientContext = {
        g,
        node,
        dy: node.outputs.map((o) => grads.get(o)),
        needs: (i) => needs[i] ?? false,
        rank: rankOf,
        constInts: (v) => {
          const t = g.initializers.get(v);
          return t && t.data instanceof BigInt64Array ? Array.from(t.data, Number) : undefined;
        },
        constFloat: (v) => {
          const t = g.initializers.get(v);
          return t && t.data instanceof Float32Array && t.data.length === 1 ? t.data[0] : undefined;
        },
        shape: shapeOf,
        unbroadcast: (grad, like, gradShape) => unbroadcast(g, grad, gradShape ?? shapeOf(node.outputs[0]), like, shapeOf(like)),
      };
      rule(ctx).forEach((grad, i) => {
        if (grad !== undefined && needs[i]) accumulate(node.inputs[i], grad);
      });
    }
  });

  const result = new Map<string, string>();
  for (const p of params) {
    result.set(p, grads.get(p) ?? g.scope('grad', () => g.op('ConstantOfShape', [g.shape(p)], { value: attr.tensor({ dtype: 'float32', shape: [1], data: new Float32Array([0]) }) })));
  }
  return result;
}

/**
 * A copy of `graph` whose outputs are the loss followed by `grad.<param>` for each param, each with
 * the param's declared type and shape.
 */
export function buildGradientGraph(graph: Graph, loss: string, params: readonly string[]): Graph {
  const g = new GraphBuilder(`${graph.name}_grad`);
  g.inputs.push(...graph.inputs);
  g.nodes.push(...graph.nodes);
  for (const [name, t] of graph.initializers) g.initializer(name, t);
  const lossInfo = graph.outputs.find((o) => o.name === loss);
  if (!lossInfo) throw new Error(`buildGradientGraph: ${loss} is not an output of ${graph.name}`);
  const grads = appendGradients(g, loss, params);
  g.outputs.push(lossInfo);
  for (const p of params) {
    const info = graph.inputs.find((v) => v.name === p);
    const init = graph.initializers.get(p);
    const shape = info?.shape ?? init?.shape;
    if (!shape) throw new Error(`buildGradientGraph: ${p} is neither an input nor an initializer`);
    g.output(grads.get(p)!, gradName(p), 'float32', shape);
  }
  return g.build();
}

/** Values that depend on a parameter through differentiable ops. */
function activeValues(nodes: readonly Node[], params: readonly string[]): Set<string> {
  const active = new Set(params);
  for (const node of nodes) {
    if (nonDifferentiableOps.has(node.op)) continue;
    if (node.op === 'Cast' && node.attrs.to?.kind === 'int' && !FLOAT_TYPES.has(node.attrs.to.value)) continue;
    if (node.inputs.some((x) => active.has(x))) node.outputs.forEach((o) => active.add(o));
  }
  return active;
}

/** Values the loss depends on. */
function valuesReachingLoss(nodes: readonly Node[], loss: string): Set<string> {
  const reach = new Set([loss]);
  for (let n = nodes.length - 1; n >= 0; n--) {
    if (nodes[n].outputs.some((o) => reach.has(o))) nodes[n].inputs.forEach((x) => reach.add(x));
  }
  return reach;
}

/**
 * Sums `grad` (the gradient of a broadcast result of shape `out`) over the axes along which `like`
 * was broadcast, then lays it out in like's shape. Where the symbolic shapes settle it (a dimension
 * provably equal to the result's, or provably 1), the axes are constants and a same-shape operand
 * costs nothing; otherwise they are read at run time from the two shapes.
 */
function unbroadcast(g: GraphBuilder, grad: string, out: SymShape, like: string, likeShape: SymShape): string {
  const extra = out.length - likeShape.length;
  const padded: SymShape = [...new Array<number>(extra).fill(1), ...likeShape];
  const axes: number[] = [];
  let settled = true;
  padded.forEach((d, i) => {
    if (d === 1) {
      if (out[i] !== 1) axes.push(i);
    } else if (d === null || d !== out[i]) settled = false;
  });
  if (settled) {
    if (axes.length === 0) return extra === 0 ? grad : g.reshapeTo(grad, g.shape(like));
    const summed = g.op('ReduceSum', [grad, g.constInt64(axes)], { keepdims: attr.int(1) });
    return extra === 0 ? summed : g.reshapeTo(summed, g.shape(like));
  }
  const likeShapeValue = g.shape(like);
  const paddedValue = extra > 0 ? g.concat([g.constInt64(new Array<number>(extra).fill(1)), likeShapeValue], 0) : likeShapeValue;
  const differs = g.op('Not', [g.op('Equal', [paddedValue, g.shape(grad)])]);
  const dynamicAxes = g.reshape(g.op('NonZero', [differs]), [-1]);
  const summed = g.op('ReduceSum', [grad, dynamicAxes], { keepdims: attr.int(1), noop_with_empty_axes: attr.int(1) });
  return extra === 0 ? summed : g.reshapeTo(summed, likeShapeValue);
}
