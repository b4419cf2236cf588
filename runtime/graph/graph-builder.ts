import {
  attr,
  float32Tensor,
  int64Tensor,
  type Attr,
  type DType,
  type Dim,
  type Graph,
  type Node,
  type Tensor,
  type ValueInfo,
} from './ir.ts';

/**
 * Emits nodes into a Graph with fresh value names. The op helpers are thin: they exist so model files
 * read like the math (`g.matmul(x, w)`) while the IR stays plain ONNX.
 */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  readonly initializers = new Map<string, Tensor>();
  private counter = 0;
  private scopeStack: string[] = [];
  private constCache = new Map<string, string>();

  constructor(readonly name: string) {}

  /** Prefix node and value names so a graph dump reads like the model (`decoder.block.2/...`). */
  scope<T>(name: string, body: () => T): T {
    this.scopeStack.push(name);
    try {
      return body();
    } finally {
      this.scopeStack.pop();
    }
  }

  /** Names carry the graph's name too: an If branch may not reuse a name of its outer graph. */
  fresh(hint: string): string {
    return [this.name, ...this.scopeStack, `${hint}_${this.counter++}`].join('/');
  }

  input(name: string, dtype: DType, shape: Dim[]): string {
    this.inputs.push({ name, dtype, shape });
    return name;
  }

  output(value: string, name: string, dtype: DType, shape: Dim[]): void {
    if (value !== name) this.op('Identity', [value], {}, name);
    this.outputs.push({ name, dtype, shape });
  }

  initializer(name: string, tensor: Tensor): string {
    if (this.initializers.has(name)) throw new Error(`initializer ${name} defined twice`);
    this.initializers.set(name, tensor);
    return name;
  }

  /** Small constants are deduplicated so repeated shapes and scalars become one initializer. */
  constFloat(values: number | number[], shape?: number[]): string {
    const arr = typeof values === 'number' ? [values] : values;
    const dims = shape ?? (typeof values === 'number' ? [] : [arr.length]);
    return this.cachedConst(`f:${dims.join('x')}:${arr.join(',')}`, () => float32Tensor(dims, arr));
  }

  constInt64(values: number | number[], shape?: number[]): string {
    const arr = typeof values === 'number' ? [values] : values;
    const dims = shape ?? (typeof values === 'number' ? [] : [arr.length]);
    return this.cachedConst(`i:${dims.join('x')}:${arr.join(',')}`, () => int64Tensor(dims, arr));
  }

  private cachedConst(key: string, make: () => Tensor): string {
    const hit = this.constCache.get(key);
    if (hit) return hit;
    // Skip names already taken, so a builder seeded with another graph's initializers stays valid.
    let index = this.constCache.size;
    while (this.initializers.has(`${this.name}/const_${index}`)) index++;
    const name = `${this.name}/const_${index}`;
    this.initializers.set(name, make());
    this.constCache.set(key, name);
    return name;
  }

  op(op: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string, domain = ''): string {
    const out = output ?? this.fresh(op.toLowerCase());
    this.nodes.push({ op, inputs, outputs: [out], attrs, domain, name: this.fresh(op) });
    return out;
  }

  opMulti(op: string, inputs: string[], outputCount: number, attrs: Record<string, Attr> = {}): string[] {
    const outs = Array.from({ length: outputCount }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({ op, inputs, outputs: outs, attrs, domain: '', name: this.fresh(op) });
    return outs;
  }

  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }
  div(a: string, b: string): string {
    return this.op('Div', [a, b]);
  }
  matmul(a: string, b: string): string {
    return this.op('MatMul', [a, b]);
  }
  pow(a: string, b: string): string {
    return this.op('Pow', [a, b]);
  }
  sqrt(a: string): string {
    return this.op('Sqrt', [a]);
  }
  tanh(a: string): string {
    return this.op('Tanh', [a]);
  }
  relu(a: string): string {
    return this.op('Relu', [a]);
  }
  abs(a: string): string {
    return this.op('Abs', [a]);
  }
  log(a: string): string {
    return this.op('Log', [a]);
  }
  min(a: string, b: string): string {
    return this.op('Min', [a, b]);
  }
  max(a: string, b: string): string {
    return this.op('Max', [a, b]);
  }
  less(a: string, b: string): string {
    return this.op('Less', [a, b]);
  }
  greater(a: string, b: string): string {
    return this.op('Greater', [a, b]);
  }
  lessOrEqual(a: string, b: string): string {
    return this.op('LessOrEqual', [a, b]);
  }
  and(a: string, b: string): string {
    return this.op('And', [a, b]);
  }
  where(cond: string, a: string, b: string): string {
    return this.op('Where', [cond, a, b]);
  }
  cast(a: string, to: DType): string {
    return this.op('Cast', [a], { to: attr.int(onnxDataType(to)) });
  }
  softmax(a: string, axis = -1): string {
    return this.op('Softmax', [a], { axis: attr.int(axis) });
  }
  reduceMean(a: string, axes: number[], keepdims = true): string {
    return this.op('ReduceMean', [a], { axes: attr.ints(axes), keepdims: attr.int(keepdims ? 1 : 0) });
  }
  reshape(a: string, shape: number[]): string {
    return this.op('Reshape', [a, this.constInt64(shape)]);
  }
  reshapeTo(a: string, shape: string): string {
    return this.op('Reshape', [a, shape]);
  }
  transpose(a: string, perm: number[]): string {
    return this.op('Transpose', [a], { perm: attr.ints(perm) });
  }
  gather(data: string, indices: string, axis = 0): string {
    return this.op('Gather', [data, indices], { axis: attr.int(axis) });
  }
  concat(values: string[], axis: number): string {
    return this.op('Concat', values, { axis: attr.int(axis) });
  }
  unsqueeze(a: string, axes: number[]): string {
    return this.op('Unsqueeze', [a, this.constInt64(axes)]);
  }
  shape(a: string): string {
    return this.op('Shape', [a]);
  }
  /** One dimension of a value's runtime shape, as a 1-element int64 tensor. */
  dim(a: string, axis: number): string {
    return this.gather(this.shape(a), this.constInt64([axis]));
  }

  build(): Graph {
    return {
      name: this.name,
      inputs: this.inputs,
      outputs: this.outputs,
      nodes: this.nodes,
      initializers: this.initializers,
    };
  }
}

export function onnxDataType(dtype: DType): number {
  switch (dtype) {
    case 'float32':
      return 1;
    case 'uint8':
      return 2;
    case 'int8':
      return 3;
    case 'int32':
      return 6;
    case 'int64':
      return 7;
    case 'bool':
      return 9;
    case 'float16':
      return 10;
  }
}
