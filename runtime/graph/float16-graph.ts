import { float32ToFloat16Bits } from '../checkpoint/half-float.ts';
import { onnxDataType } from './graph-builder.ts';
import { attr, type Graph, type Node, type Tensor } from './ir.ts';

/**
 * FP16 compute, a pass over a built inference graph, as Hugging Face runs T5 in half precision: weights
 * and activations in float16, and in float32 what HF keeps there: RMSNorm's variance and normalisation,
 * softmax, the arithmetic on integer positions and masks (relative-position buckets), and the
 * feed-forward output projection `wo` (HF's `_keep_in_fp32_modules`). Every float16 Add (the residual
 * stream among them) is clamped to +-(65504 - 1000), HF's overflow guard, so an overflow saturates
 * instead of turning into inf and then NaN. The graph's inputs and outputs stay float32: callers and the
 * caches they keep see no difference.
 */

const FP16_MAX = 65504;
/** HF T5's clamp: the largest float16 less 1000. */
const CLAMP = FP16_MAX - 1000;
const FLOAT = onnxDataType('float32');
const HALF = onnxDataType('float16');

/** A value's kind: float32, float16, or not a float at all. */
type Kind = 'f32' | 'f16' | 'other';

const NEVER_FLOAT_OUT = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Equal', 'And', 'Or', 'Not', 'NonZero']);

export function toFloat16Compute(graph: Graph): Graph {
  const kind = new Map<string, Kind>();
  for (const v of graph.inputs) kind.set(v.name, v.dtype === 'float32' ? 'f32' : 'other');
  for (const [name, t] of graph.initializers) kind.set(name, t.dtype === 'float32' ? 'f32' : 'other');
  const kindOf = (v: string): Kind => kind.get(v) ?? 'other';
  /** Float32 values computed from integers (positions, masks): their arithmetic stays float32. */
  const fromIntegers = new Set<string>();
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));

  const nodes: Node[] = [];
  const initializers = new Map(graph.initializers);
  const copies = new Map<string, string>();
  /** `value` as float16 or float32: a float16 copy of an initializer, or a Cast. */
  const as = (value: string, want: 'f32' | 'f16'): string => {
    const key = `${value}|${want}`;
    let name = copies.get(key);
    if (name) return name;
    const init = initializers.get(value);
    if (init && want === 'f16') {
      name = `${value}.f16`;
      initializers.set(name, toHalf(init));
    } else {
      name = `${graph.name}/fp16/cast_${copies.size}`;
      nodes.push({ op: 'Cast', inputs: [value], outputs: [name], attrs: { to: attr.int(want === 'f16' ? HALF : FLOAT) }, domain: '', name: `${name}_node` });
    }
    copies.set(key, name);
    return name;
  };

  for (const node of graph.nodes) {
    const floats = node.inputs.filter((v) => v !== '' && kindOf(v) !== 'other');
    const castToFloat = node.op === 'Cast' && node.attrs.to?.value === FLOAT;
    if (floats.length === 0 && !castToFloat) {
      nodes.push(node);
      for (const o of node.outputs) kind.set(o, 'other');
      continue;
    }
    const onIntegers = castToFloat ? floats.length === 0 : floats.some((v) => fromIntegers.has(v)) && floats.every((v) => fromIntegers.has(v) || graph.initializers.has(v));
    const want = onIntegers || keptInFloat32(node, producer) ? 'f32' : 'f16';
    const inputs = node.inputs.map((v) => (v === '' || kindOf(v) === 'other' || kindOf(v) === want ? v : as(v, want)));
    const attrs = castToFloat ? { ...node.attrs, to: attr.int(want === 'f16' ? HALF : FLOAT) } : node.attrs;
    const out: Kind = NEVER_FLOAT_OUT.has(node.op) || (node.op === 'Cast' && !castToFloat) ? 'other' : want;
    if (want === 'f16' && node.op === 'Add') {
      const sum = `${node.outputs[0]}/unclamped`;
      nodes.push({ ...node, inputs, attrs, outputs: [sum] });
      const bounds = [as(scalar(initializers, -CLAMP), 'f16'), as(scalar(initializers, CLAMP), 'f16')];
      nodes.push({ op: 'Clip', inputs: [sum, ...bounds], outputs: node.outputs, attrs: {}, domain: '', name: `${node.name}/clamp` });
    } else {
      nodes.push({ ...node, inputs, attrs });
    }
    for (const o of node.outputs) {
      kind.set(o, out);
      if (onIntegers && out === 'f32') fromIntegers.add(o);
    }
  }

  // Float outputs computed in float16 are cast back, under their own names.
  const finalCasts: Node[] = [];
  for (const v of graph.outputs) {
    if (kindOf(v.name) !== 'f16') continue;
    const inner = `${v.name}/f16`;
    for (const n of nodes) {
      n.outputs = n.outputs.map((o) => (o === v.name ? inner : o));
      n.inputs = n.inputs.map((i) => (i === v.name ? inner : i));
    }
    finalCasts.push({ op: 'Cast', inputs: [inner], outputs: [v.name], attrs: { to: attr.int(FLOAT) }, domain: '', name: `${v.name}/to_float32` });
  }
  nodes.push(...finalCasts);
  // Float32 initializers that only float16 nodes read leave the graph; their float16 copies stay.
  const read = new Set(nodes.flatMap((n) => n.inputs));
  for (const name of [...initializers.keys()]) if (!read.has(name)) initializers.delete(name);
  return { ...graph, nodes, initializers };
}

/** Float work HF keeps in float32 in a half-precision T5. */
function keptInFloat32(node: Node, producer: Map<string, Node>): boolean {
  if (['Softmax', 'Pow', 'ReduceMean', 'Sqrt'].includes(node.op)) return true;
  if (node.op === 'Add' && producer.get(node.inputs[0])?.op === 'ReduceMean') return true; // RMSNorm: variance + eps
  if (node.op === 'Div' && producer.get(node.inputs[1])?.op === 'Sqrt') return true; // RMSNorm: x / sqrt(variance + eps)
  return node.op === 'MatMul' && node.inputs[1].includes('DenseReluDense.wo.weight');
}

function toHalf(t: Tensor): Tensor {
  // Out-of-range constants (the masks' -1e9) saturate to the largest half instead of becoming infinite.
  const clamped = (t.data as Float32Array).map((x) => Math.max(-FP16_MAX, Math.min(FP16_MAX, x)));
  return { dtype: 'float16', shape: t.shape, data: float32ToFloat16Bits(clamped) };
}

function scalar(initializers: Map<string, Tensor>, value: number): string {
  const name = `fp16/const_${value}`;
  if (!initializers.has(name)) initializers.set(name, { dtype: 'float32', shape: [], data: Float32Array.of(value) });
  return name;
}
