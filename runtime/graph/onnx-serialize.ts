import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { onnxDataType } from './graph-builder.ts';
import type { Attr, Graph, Tensor, ValueInfo } from './ir.ts';

const { onnx } = onnxProto;

export const OPSET = 17;
const IR_VERSION = 8;

export interface SerializeOptions {
  /**
   * Protobuf caps a message at 2 GB, so large models keep their weights in a side file that the
   * .onnx file points into (ONNX "external data"). `location` is relative to the .onnx file.
   */
  externalData?: { path: string; location: string; minBytes?: number };
  extraOpsets?: Record<string, number>;
  producer?: string;
}

/** Serializes a Graph to ONNX ModelProto bytes (and, with externalData, writes the weight file). */
export function serializeModel(graph: Graph, options: SerializeOptions = {}): Uint8Array {
  const external = options.externalData ? new ExternalDataWriter(options.externalData.path) : undefined;
  const minBytes = options.externalData?.minBytes ?? 1024;
  try {
    const graphProto = graphToProto(graph, (name, tensor) =>
      external && tensor.data.byteLength >= minBytes
        ? external.tensorProto(name, tensor, options.externalData!.location)
        : tensorToProto(name, tensor),
    );
    external?.finish();
    const opsets = [{ domain: '', version: OPSET }];
    for (const [domain, version] of Object.entries(options.extraOpsets ?? {})) opsets.push({ domain, version });
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: options.producer ?? 'flan-serve',
      opsetImport: opsets.map((o) => onnx.OperatorSetIdProto.create(o)),
      graph: graphProto,
    });
    return onnx.ModelProto.encode(model).finish();
  } catch (err) {
    external?.abort();
    throw err;
  }
}

type TensorEncoder = (name: string, tensor: Tensor) => onnxProto.onnx.ITensorProto;

function graphToProto(graph: Graph, encodeInitializer: TensorEncoder): onnxProto.onnx.IGraphProto {
  return onnx.GraphProto.create({
    name: graph.name,
    input: graph.inputs.map(valueInfoToProto),
    output: graph.outputs.map(valueInfoToProto),
    initializer: [...graph.initializers].map(([name, t]) => encodeInitializer(name, t)),
    node: graph.nodes.map((n) =>
      onnx.NodeProto.create({
        opType: n.op,
        domain: n.domain,
        name: n.name,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([name, a]) => attrToProto(name, a)),
      }),
    ),
  });
}

function valueInfoToProto(v: ValueInfo): onnxProto.onnx.IValueInfoProto {
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnxDataType(v.dtype),
        shape: onnx.TensorShapeProto.create({
          dim: v.shape.map((d) =>
            onnx.TensorShapeProto.Dimension.create(typeof d === 'number' ? { dimValue: d } : { dimParam: d }),
          ),
        }),
      }),
    }),
  });
}

function rawBytes(tensor: Tensor): Uint8Array {
  return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

function tensorToProto(name: string, tensor: Tensor): onnxProto.onnx.ITensorProto {
  return onnx.TensorProto.create({
    name,
    dims: tensor.shape,
    dataType: onnxDataType(tensor.dtype),
    rawData: rawBytes(tensor),
  });
}

function attrToProto(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: a.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: a.value };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorToProto('', a.value) };
    case 'graph':
      return { name, type: T.GRAPH, g: graphToProto(a.value, tensorToProto) };
  }
}

/** Appends tensors to a temp file, renamed into place only once every tensor is written and synced. */
class ExternalDataWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private offset = 0;

  constructor(private readonly path: string) {
    this.tmp = `${path}.tmp-${process.pid}`;
    this.fd = openSync(this.tmp, 'w');
  }

  tensorProto(name: string, tensor: Tensor, location: string): onnxProto.onnx.ITensorProto {
    // ONNX runtime maps external data with page-aligned offsets when it can; align to 4 KiB.
    const pad = (4096 - (this.offset % 4096)) % 4096;
    if (pad) {
      writeSync(this.fd, new Uint8Array(pad));
      this.offset += pad;
    }
    const bytes = rawBytes(tensor);
    writeSync(this.fd, bytes);
    const entry = (key: string, value: string) => onnx.StringStringEntryProto.create({ key, value });
    const proto = onnx.TensorProto.create({
      name,
      dims: tensor.shape,
      dataType: onnxDataType(tensor.dtype),
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        entry('location', location),
        entry('offset', String(this.offset)),
        entry('length', String(bytes.byteLength)),
      ],
    });
    this.offset += bytes.byteLength;
    return proto;
  }

  finish(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed by finish()
    }
  }
}
