/**
 * A small typed IR for ONNX graphs. It is what the T5 builders emit, what autodiff transforms, and what
 * the serializer turns into ONNX protobuf. Values are referred to by name, as in ONNX itself.
 */

export type DType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool' | 'uint8' | 'int8';
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  dtype: DType;
  shape: Dim[];
}

export type TensorData = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** ONNX separates int from float attributes, so attributes carry their kind explicitly. */
export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: Tensor }
  | { kind: 'graph'; value: Graph };

export const attr = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  ints: (value: number[]): Attr => ({ kind: 'ints', value }),
  floats: (value: number[]): Attr => ({ kind: 'floats', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
  tensor: (value: Tensor): Attr => ({ kind: 'tensor', value }),
  graph: (value: Graph): Attr => ({ kind: 'graph', value }),
};

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
  /** Empty for the default ONNX domain; 'com.microsoft' for onnxruntime contrib ops. */
  domain: string;
  name: string;
}

export interface Graph {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: Node[];
  initializers: Map<string, Tensor>;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function initializerBytes(graph: Graph): number {
  let total = 0;
  for (const t of graph.initializers.values()) total += t.data.byteLength;
  return total;
}

export function float32Tensor(shape: number[], data: Float32Array | number[]): Tensor {
  const values = data instanceof Float32Array ? data : Float32Array.from(data);
  if (values.length !== elementCount(shape)) {
    throw new Error(`float32Tensor: ${values.length} values do not fill shape [${shape.join(', ')}]`);
  }
  return { dtype: 'float32', shape, data: values };
}

export function int64Tensor(shape: number[], data: readonly number[]): Tensor {
  if (data.length !== elementCount(shape)) {
    throw new Error(`int64Tensor: ${data.length} values do not fill shape [${shape.join(', ')}]`);
  }
  return { dtype: 'int64', shape, data: BigInt64Array.from(data, (v) => BigInt(v)) };
}
