import { writeSync } from 'node:fs';
import { writeFileAtomicSync } from './atomic-write.ts';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from './half-float.ts';

/** Float tensors are given in float32 and narrowed on write; I64 takes bigints or safe integers. */
export type TensorToWrite =
  | { name: string; dtype: 'F32' | 'F16' | 'BF16'; shape: readonly number[]; data: Float32Array }
  | { name: string; dtype: 'I64'; shape: readonly number[]; data: BigInt64Array | readonly number[] };

const DTYPE_BYTES = { F32: 4, F16: 2, BF16: 2, I64: 8 } as const;

/**
 * Writes a .safetensors file atomically (see writeFileAtomicSync). Tensors are laid out in the given
 * order; the header is padded with spaces to a multiple of 8 bytes, as the reference writer does, so
 * the data section starts aligned. Each tensor is converted and written on its own, so peak extra
 * memory is one tensor, not the whole file.
 */
export function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata?: Readonly<Record<string, string>>,
): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const tensor of tensors) {
    if (tensor.name === '__metadata__' || tensor.name in header) {
      throw new Error(`writeSafetensors ${path}: duplicate or reserved tensor name "${tensor.name}"`);
    }
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    if (!tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || count !== tensor.data.length) {
      throw new Error(
        `writeSafetensors ${path}: tensor "${tensor.name}" has shape ${JSON.stringify(tensor.shape)} ` +
          `but ${tensor.data.length} values`,
      );
    }
    const byteLength = count * DTYPE_BYTES[tensor.dtype];
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + byteLength] };
    offset += byteLength;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  const paddedLength = Math.ceil(json.length / 8) * 8;
  const headerBytes = new Uint8Array(8 + paddedLength).fill(0x20);
  new DataView(headerBytes.buffer).setBigUint64(0, BigInt(paddedLength), true);
  headerBytes.set(json, 8);

  writeFileAtomicSync(path, (fd) => {
    writeAll(fd, headerBytes);
    for (const tensor of tensors) writeAll(fd, tensorBytes(tensor));
  });
}

function tensorBytes(tensor: TensorToWrite): Uint8Array {
  switch (tensor.dtype) {
    case 'F32':
      return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    case 'F16':
      return new Uint8Array(float32ToFloat16Bits(tensor.data).buffer);
    case 'BF16':
      return new Uint8Array(float32ToBfloat16Bits(tensor.data).buffer);
    case 'I64': {
      if (tensor.data instanceof BigInt64Array) {
        return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
      }
      const wide = new BigInt64Array(tensor.data.length);
      tensor.data.forEach((v, i) => {
        if (!Number.isSafeInteger(v)) throw new Error(`tensor "${tensor.name}": ${v} is not an integer`);
        wide[i] = BigInt(v);
      });
      return new Uint8Array(wide.buffer);
    }
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}
