import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ModelLoadError } from './model-load-error.ts';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from './half-float.ts';
import { isPlainObject, parseJsonObject } from './read-json-file.ts';

export { writeSafetensors, type TensorToWrite } from './safetensors-writer.ts';

/**
 * Reader for one .safetensors file: 8-byte little-endian header length, a JSON header mapping tensor
 * names to {dtype, shape, data_offsets} (offsets relative to the data section after the header), then
 * the raw little-endian data. Only the header is read up front; each tensor's bytes are read on demand
 * straight into the typed array that is returned, so a multi-gigabyte shard is never held twice.
 */

/** Bytes per element of every dtype the format defines, so any valid file's header can be checked. */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

// The reference implementation's limit: a header beyond this is a corrupt length, not a real header.
const MAX_HEADER_BYTES = 100_000_000;

// Typed arrays use host byte order and safetensors is little-endian; every platform Node ships
// prebuilt binaries for is little-endian, so refuse loudly rather than return swapped floats elsewhere.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface SafetensorsTensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute position of the tensor's first byte in the file. */
  fileOffset: number;
  byteLength: number;
}

export class SafetensorsFile {
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    fd: number,
    private readonly tensors: Map<string, SafetensorsTensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {
    this.fd = fd;
  }

  /**
   * Opens the file and validates its header against the file size. The descriptor stays open until
   * close(): an atomic replace of the path (a trainer checkpoint) cannot then mix old offsets with
   * new bytes.
   */
  static open(path: string): SafetensorsFile {
    if (!HOST_IS_LITTLE_ENDIAN) throw new ModelLoadError(path, 'safetensors needs a little-endian host');
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ModelLoadError(path, code === 'ENOENT' ? 'file not found' : `cannot open: ${String(err)}`);
    }
    try {
      const { tensors, metadata } = readHeader(fd, path);
      return new SafetensorsFile(path, fd, tensors, metadata);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): SafetensorsTensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new ModelLoadError(this.path, `tensor "${name}" not found`);
    return info;
  }

  /** A float tensor (F32, F16, BF16, F64) widened or narrowed to float32. */
  readFloat32(name: string): Float32Array {
    const info = this.info(name);
    const count = info.byteLength / DTYPE_BYTES[info.dtype];
    switch (info.dtype) {
      case 'F32': {
        const out = new Float32Array(count);
        this.readInto(info, new Uint8Array(out.buffer));
        return out;
      }
      case 'F16':
      case 'BF16': {
        const bits = new Uint16Array(count);
        this.readInto(info, new Uint8Array(bits.buffer));
        return info.dtype === 'F16' ? float16BitsToFloat32(bits) : bfloat16BitsToFloat32(bits);
      }
      case 'F64': {
        const wide = new Float64Array(count);
        this.readInto(info, new Uint8Array(wide.buffer));
        return Float32Array.from(wide);
      }
      default:
        throw new ModelLoadError(this.path, `tensor "${name}" has dtype ${info.dtype}, expected a float dtype`);
    }
  }

  readInt64(name: string): BigInt64Array {
    const info = this.expectDtype(name, 'I64');
    const out = new BigInt64Array(info.byteLength / 8);
    this.readInto(info, new Uint8Array(out.buffer));
    return out;
  }

  /** An I64 tensor (token ids, labels with -100) as plain numbers; values beyond 2^53 are an error. */
  readInt64AsNumbers(name: string): number[] {
    const wide = this.readInt64(name);
    const out = new Array<number>(wide.length);
    for (let i = 0; i < wide.length; i++) {
      const value = Number(wide[i]);
      if (!Number.isSafeInteger(value)) {
        throw new ModelLoadError(this.path, `tensor "${name}" holds ${wide[i]}, beyond a safe JS integer`);
      }
      out[i] = value;
    }
    return out;
  }

  readInt32(name: string): Int32Array {
    const info = this.expectDtype(name, 'I32');
    const out = new Int32Array(info.byteLength / 4);
    this.readInto(info, new Uint8Array(out.buffer));
    return out;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private expectDtype(name: string, dtype: string): SafetensorsTensorInfo {
    const info = this.info(name);
    if (info.dtype !== dtype) {
      throw new ModelLoadError(this.path, `tensor "${name}" has dtype ${info.dtype}, expected ${dtype}`);
    }
    return info;
  }

  private readInto(info: SafetensorsTensorInfo, target: Uint8Array): void {
    if (this.fd === undefined) throw new Error(`${this.path} was closed before reading "${info.name}"`);
    readFully(this.fd, target, info.fileOffset, this.path, `tensor "${info.name}"`);
  }
}

/** readSync may return fewer bytes than asked (and at most 2 GiB per call), so loop until done. */
function readFully(fd: number, target: Uint8Array, position: number, path: string, what: string): void {
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, Math.min(target.length - done, 0x40000000), position + done);
    if (n === 0) throw new ModelLoadError(path, `file is truncated: ${what} ends past the end of the file`);
    done += n;
  }
}

function readHeader(
  fd: number,
  path: string,
): { tensors: Map<string, SafetensorsTensorInfo>; metadata: Record<string, string> } {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) throw new ModelLoadError(path, `file is truncated: ${fileSize} bytes, no header length`);
  const lengthBytes = new Uint8Array(8);
  readFully(fd, lengthBytes, 0, path, 'header length');
  const headerLength = Number(new DataView(lengthBytes.buffer).getBigUint64(0, true));
  if (headerLength > fileSize - 8 || headerLength > MAX_HEADER_BYTES) {
    throw new ModelLoadError(path, `header length ${headerLength} exceeds the file size ${fileSize}`);
  }
  const headerBytes = new Uint8Array(headerLength);
  readFully(fd, headerBytes, 8, path, 'header');
  const header = parseJsonObject(new TextDecoder().decode(headerBytes), path);

  const dataStart = 8 + headerLength;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, SafetensorsTensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
        throw new ModelLoadError(path, '__metadata__ must map strings to strings');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const bad = (problem: string): never => {
      throw new ModelLoadError(path, `tensor "${name}": ${problem}`);
    };
    if (!isPlainObject(entry)) bad('header entry is not an object');
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) bad(`unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      bad(`invalid shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      bad(`invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const expectedBytes = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype as string];
    if (end - begin !== expectedBytes) {
      bad(`data_offsets span ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${expectedBytes}`);
    }
    if (end > dataSize) {
      bad(`file is truncated: data ends at byte ${end} of a data section holding only ${dataSize}`);
    }
    tensors.set(name, {
      name,
      dtype: dtype as string,
      shape: shape as number[],
      fileOffset: dataStart + begin,
      byteLength: expectedBytes,
    });
  }
  return { tensors, metadata };
}
