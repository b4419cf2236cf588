import { ConfigError } from '../config-error.ts';
import { attr, type Graph, type Node, type Tensor } from './ir.ts';

/**
 * Weight-only quantization, a pass over a built graph: every MatMul whose right operand is a large 2-D
 * float initializer [K, N] (the attention projections, the feed-forward layers, lm_head) becomes
 * onnxruntime's com.microsoft MatMulNBits over blockwise int8 or int4 weights, and the f32 initializer
 * leaves the graph. Activations stay f32 (accuracy_level 4 lets the CPU kernel multiply them as int8,
 * quantized per row and block of K on the fly). int8-gemm instead runs each such MatMul on the integer
 * GEMM (toIntegerGemm). Embedding lookups, norms and bias tables stay f32.
 */

export const WEIGHT_FORMATS = ['f32', 'int8', 'int4', 'int8-gemm'] as const;
export type WeightFormat = (typeof WEIGHT_FORMATS)[number];

export function parseWeightFormat(value: string | undefined): WeightFormat {
  const format = (value || 'f32').toLowerCase();
  if (!(WEIGHT_FORMATS as readonly string[]).includes(format)) {
    throw new ConfigError(`FLAN_WEIGHTS must be one of ${WEIGHT_FORMATS.join(', ')}, not "${value}"`);
  }
  return format as WeightFormat;
}

/** MatMulNBits' accuracy_level 4: int8 activations times int weights, the CPU's fast path. */
const ACCURACY_INT8 = 4;

/** Elements of one quantization block along K (one scale and zero point each): 32, or 16 where K needs it. */
function blockSizeFor(K: number): number | undefined {
  return [32, 16].find((b) => K % b === 0);
}

export interface QuantizedWeights {
  /** [N, K / block, block * bits / 8]: row n holds output column n's weights, bits packed low first. */
  data: Uint8Array;
  /** [N * K / block] */
  scales: Float32Array;
  /** [N * ceil(K / block * bits / 8)]: per block, packed like the data. */
  zeroPoints: Uint8Array;
}

/**
 * Asymmetric blockwise quantization of w [K, N] (row-major, as our graphs store linear weights) into
 * MatMulNBits' layout: w[k, n] ~= (q - zero) * scale, per block of block consecutive k of one column.
 */
export function quantizeBlockwise(w: Float32Array, K: number, N: number, bits: 4 | 8, block = blockSizeFor(K)!): QuantizedWeights {
  const blocks = K / block;
  const levels = (1 << bits) - 1;
  const blobBytes = (block * bits) / 8;
  const zpRowBytes = Math.ceil((blocks * bits) / 8);
  const data = new Uint8Array(N * blocks * blobBytes);
  const scales = new Float32Array(N * blocks);
  const zeroPoints = new Uint8Array(N * zpRowBytes);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      // The range always holds 0, so a zero weight stays exactly zero.
      let lo = 0;
      let hi = 0;
      for (let k = b * block; k < (b + 1) * block; k++) {
        const v = w[k * N + n];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const scale = hi > lo ? (hi - lo) / levels : 1;
      const zero = Math.min(levels, Math.max(0, Math.round(-lo / scale)));
      scales[n * blocks + b] = scale;
      putPacked(zeroPoints, n * zpRowBytes, b, zero, bits);
      const base = (n * blocks + b) * blobBytes;
      for (let i = 0; i < block; i++) {
        const q = Math.min(levels, Math.max(0, Math.round(w[(b * block + i) * N + n] / scale) + zero));
        putPacked(data, base, i, q, bits);
      }
    }
  }
  return { data, scales, zeroPoints };
}

/** Writes the index-th value of `bits` bits into bytes from `offset` on (two per byte for 4 bits, low first). */
function putPacked(bytes: Uint8Array, offset: number, index: number, value: number, bits: 4 | 8): void {
  if (bits === 8) bytes[offset + index] = value;
  else bytes[offset + (index >> 1)] |= (index & 1 ? value << 4 : value);
}

/** The 2-D float weight of a MatMul the pass rewrites (`fits`: whether the format can take its shape). */
function quantizable(graph: Graph, node: Node, fits: (w: Tensor) => boolean): Tensor | undefined {
  if (node.op !== 'MatMul' || node.domain !== '') return undefined;
  const w = graph.initializers.get(node.inputs[1]);
  if (!w || w.dtype !== 'float32' || w.shape.length !== 2) return undefined;
  return fits(w) ? w : undefined;
}

/**
 * Rewrites the graph in place for `format` (f32 leaves it as is). Fused weights shared by several
 * MatMuls are quantized once; a float initializer that no other node reads is dropped. `levels`: the
 * int8-gemm weights' range on this CPU.
 */
export function quantizeGraphWeights(graph: Graph, format: WeightFormat, levels: WeightLevels): Graph {
  if (format === 'f32') return graph;
  if (format === 'int8-gemm') return toIntegerGemm(graph, () => true, levels);
  const bits = format === 'int8' ? 8 : 4;
  const done = new Set<string>();
  for (const node of graph.nodes) {
    const w = quantizable(graph, node, (t) => blockSizeFor(t.shape[0]) !== undefined);
    if (!w) continue;
    const name = node.inputs[1];
    const [K, N] = w.shape;
    const block = blockSizeFor(K)!;
    if (!done.has(name)) {
      const q = quantizeBlockwise(w.data as Float32Array, K, N, bits, block);
      const blocks = K / block;
      graph.initializers.set(`${name}.q${bits}`, { dtype: 'uint8', shape: [N, blocks, (block * bits) / 8], data: q.data });
      graph.initializers.set(`${name}.scales`, { dtype: 'float32', shape: [N * blocks], data: q.scales });
      graph.initializers.set(`${name}.zero_points`, { dtype: 'uint8', shape: [q.zeroPoints.length], data: q.zeroPoints });
      done.add(name);
    }
    node.op = 'MatMulNBits';
    node.domain = 'com.microsoft';
    node.inputs = [node.inputs[0], `${name}.q${bits}`, `${name}.scales`, `${name}.zero_points`];
    node.attrs = {
      K: attr.int(K),
      N: attr.int(N),
      bits: attr.int(bits),
      block_size: attr.int(block),
      accuracy_level: attr.int(ACCURACY_INT8),
    };
  }
  dropUnread(graph, done);
  return graph;
}

/**
 * The largest |q| of the integer GEMM's int8 weights: 127, or 63 where the CPU's u8s8 kernel adds
 * product pairs in a saturating int16 (runtime/device/integer-gemm-range.ts says which holds here).
 */
export type WeightLevels = 127 | 63;
export const FULL_WEIGHT_LEVELS = 127;
export const REDUCED_WEIGHT_LEVELS = 63;

/** Per-column symmetric int8 weights of w [K, N]: w[k, n] ~= q[k, n] * scales[n], q in [-levels, levels]. */
export function quantizeColumns(w: Float32Array, K: number, N: number, levels: WeightLevels): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) scales[n] = Math.max(scales[n], Math.abs(w[k * N + n]));
  for (let n = 0; n < N; n++) scales[n] = scales[n] > 0 ? scales[n] / levels : 1;
  const q = new Int8Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) q[k * N + n] = Math.max(-levels, Math.min(levels, Math.round(w[k * N + n] / scales[n])));
  return { q, scales };
}

/**
 * int8-gemm: each MatMul over a 2-D float weight runs on onnxruntime's u8s8 integer GEMM
 * (com.microsoft.MatMulIntegerToFloat; VNNI on x64), which at batch 32 is faster than both SGEMM and
 * MatMulNBits' int8 path. Its activations are quantized per row at run time, one scale per token taken
 * from that token alone, so a row's result never depends on the other rows of its batch; the kernel
 * takes one activation scale only, so it multiplies by 1 and the row scales follow as a Mul. Weights
 * are symmetric int8 per output column, within +-`levels`. MatMuls that read the same activations
 * quantize them once. `only` limits it to the MatMuls over the weights it names (the f32 decoder's
 * screening head).
 */
export function toIntegerGemm(graph: Graph, only: (weight: string) => boolean, levels: WeightLevels): Graph {
  const nodes: Node[] = [];
  let counter = 0;
  const emit = (op: string, inputs: string[], attrs: Node['attrs'] = {}, domain = '', output = `int8-gemm/${op}_${counter}`) => {
    nodes.push({ op, inputs, outputs: [output], attrs, domain, name: `int8-gemm/${op}_node_${counter++}` });
    return output;
  };
  const constant = (name: string, tensor: Tensor) => {
    if (!graph.initializers.has(name)) graph.initializers.set(name, tensor);
    return name;
  };
  const scalar = (name: string, value: number) => constant(`int8-gemm/${name}`, { dtype: 'float32', shape: [], data: Float32Array.of(value) });
  // Activations travel as u8 = q + 128 (zero point 128): the kernels take an unsigned left operand.
  const zeroPoint = () => constant('int8-gemm/zero_point', { dtype: 'uint8', shape: [], data: Uint8Array.of(128) });
  const quantizedRows = new Map<string, { q: string; scale: string }>();
  const done = new Set<string>();
  for (const node of graph.nodes) {
    const w = quantizable(graph, node, () => only(node.inputs[1]));
    if (!w) {
      nodes.push(node);
      continue;
    }
    const [x, name] = node.inputs;
    if (!done.has(name)) {
      const { q, scales } = quantizeColumns(w.data as Float32Array, w.shape[0], w.shape[1], levels);
      graph.initializers.set(`${name}.s8`, { dtype: 'int8', shape: w.shape, data: q });
      graph.initializers.set(`${name}.column_scales`, { dtype: 'float32', shape: [w.shape[1]], data: scales });
      done.add(name);
    }
    let rows = quantizedRows.get(x);
    if (!rows) {
      const absMax = emit('ReduceMax', [emit('Abs', [x])], { axes: attr.ints([-1]), keepdims: attr.int(1) });
      // An all-zero row keeps a positive scale, so it quantizes to zeros rather than NaN.
      const scale = emit('Mul', [emit('Max', [absMax, scalar('tiny', 1e-30)]), scalar('inv127', 1 / 127)]);
      rows = { q: emit('QuantizeLinear', [emit('Div', [x, scale]), scalar('one', 1), zeroPoint()]), scale };
      quantizedRows.set(x, rows);
    }
    const product = emit('MatMulIntegerToFloat', [rows.q, `${name}.s8`, scalar('one', 1), `${name}.column_scales`, zeroPoint()], {}, 'com.microsoft');
    emit('Mul', [product, rows.scale], {}, '', node.outputs[0]);
  }
  graph.nodes.splice(0, graph.nodes.length, ...nodes);
  dropUnread(graph, done);
  return graph;
}

/** Drops the float weights that were quantized and that no node reads any more. */
function dropUnread(graph: Graph, quantized: Set<string>): void {
  const stillRead = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const name of quantized) if (!stillRead.has(name)) graph.initializers.delete(name);
}

/** Opsets a graph needs beyond the default domain: com.microsoft where it holds contrib ops. */
export function contribOpsets(graph: Graph): Record<string, number> {
  return graph.nodes.some((n) => n.domain === 'com.microsoft') ? { 'com.microsoft': 1 } : {};
}
