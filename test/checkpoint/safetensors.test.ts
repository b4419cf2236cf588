import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../runtime/checkpoint/half-float.ts';
import { SafetensorsFile, writeSafetensors } from '../../runtime/checkpoint/safetensors.ts';
import { bf16Dir, expectLoadError, f32Dir, hasFixtures, tempDir } from './fixture-paths.ts';

function withFile<T>(path: string, use: (file: SafetensorsFile) => T): T {
  const file = SafetensorsFile.open(path);
  try {
    return use(file);
  } finally {
    file.close();
  }
}

/** A hand-made safetensors file, for the malformed cases the writer refuses to produce. */
function rawSafetensors(path: string, header: unknown, data: Uint8Array, headerLength?: number): void {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerLength ?? json.length));
  writeFileSync(path, Buffer.concat([length, json, data]));
}

describe.skipIf(!hasFixtures)('reading the reference fixtures', () => {
  const dir = tempDir();

  it('reads every F32 tensor of a checkpoint with its metadata', () => {
    withFile(join(f32Dir, 'model.safetensors'), (file) => {
      expect(file.metadata).toEqual({ format: 'pt' });
      expect(file.names()).toHaveLength(66);
      expect(file.info('shared.weight')).toMatchObject({ dtype: 'F32', shape: [384, 48] });
      for (const name of file.names()) {
        const values = file.readFloat32(name);
        expect(values.length).toBe(file.info(name).shape.reduce((a, b) => a * b, 1));
        expect(values.every(Number.isFinite)).toBe(true);
      }
    });
  });

  it('widens BF16 tensors: exact bfloat16 values, layer norms near 1', () => {
    withFile(join(bf16Dir, 'model.safetensors'), (file) => {
      expect(file.info('shared.weight').dtype).toBe('BF16');
      for (const name of file.names()) {
        const values = file.readFloat32(name);
        const bits = new Uint32Array(values.buffer);
        expect(bits.every((b) => (b & 0xffff) === 0)).toBe(true);
        expect(values.every(Number.isFinite)).toBe(true);
        // RMSNorm scales are initialized around 1: a byte-order or shift mistake could not land there.
        if (name.endsWith('layer_norm.weight')) expect(values.every((v) => v > 0.5 && v < 1.5)).toBe(true);
      }
    });
  });

  it('reads the I64 inputs and labels of expected.safetensors as numbers', () => {
    withFile(join(f32Dir, 'expected.safetensors'), (file) => {
      expect(file.info('input_ids')).toMatchObject({ dtype: 'I64', shape: [3, 11] });
      const ids = file.readInt64AsNumbers('input_ids');
      expect(ids).toHaveLength(33);
      expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 384)).toBe(true);
      expect(file.readInt64AsNumbers('labels')).toContain(-100);
      expect(file.readInt64('attention_mask').every((m) => m === 0n || m === 1n)).toBe(true);
      expect(file.readFloat32('logits')).toHaveLength(3 * 6 * 384);
      expectLoadError(() => file.readFloat32('input_ids'), 'expected.safetensors', /"input_ids" has dtype I64, expected a float/);
      expectLoadError(() => file.readInt64('logits'), 'expected.safetensors', /"logits" has dtype F32, expected I64/);
      expectLoadError(() => file.readFloat32('no.such.tensor'), 'expected.safetensors', /"no.such.tensor" not found/);
    });
  });

  it('narrows the F32 checkpoint to BF16 within bfloat16 precision', () => {
    const path = join(dir, 'model.safetensors');
    const f32 = withFile(join(f32Dir, 'model.safetensors'), (file) =>
      file.names().map((name) => ({ name, shape: file.info(name).shape, data: file.readFloat32(name) })),
    );
    writeSafetensors(path, f32.map((t) => ({ ...t, dtype: 'BF16' as const })), { format: 'pt' });
    withFile(path, (file) => {
      for (const { name, data } of f32) {
        const narrowed = file.readFloat32(name);
        const outside = data.filter((v, i) => Math.abs(narrowed[i] - v) > Math.abs(v) * 2 ** -8);
        expect(outside.length, name).toBe(0);
        expect(narrowed, name).not.toEqual(data); // it was narrowed, not copied
      }
    });
  });
});

describe('writeSafetensors', () => {
  const dir = tempDir();

  it('round-trips F32, F16, I64 and metadata, with an 8-byte aligned data section', () => {
    const path = join(dir, 'mixed.safetensors');
    const values = Float32Array.from([0, -0, 1, -2.5, 65504, 1e6, 2 ** -24, 2 ** -20, 1 / 3, Infinity, NaN, 1e-9]);
    writeSafetensors(
      path,
      [
        { name: 'half', dtype: 'F16', shape: [3, 4], data: values },
        { name: 'full', dtype: 'F32', shape: [12], data: values },
        { name: 'ids', dtype: 'I64', shape: [2, 2], data: [1, -100, 2 ** 40, 0] },
        { name: 'big', dtype: 'I64', shape: [1], data: BigInt64Array.from([2n ** 60n]) },
      ],
      { format: 'pt', step: '7' },
    );
    const headerLength = Number(readFileSync(path).readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    withFile(path, (file) => {
      expect(file.metadata).toEqual({ format: 'pt', step: '7' });
      expect(file.info('half')).toMatchObject({ dtype: 'F16', shape: [3, 4], byteLength: 24 });
      // F16 on disk is exactly what float32ToFloat16Bits gives; reading widens it back.
      expect(Array.from(file.readFloat32('half'))).toEqual(Array.from(float16BitsToFloat32(float32ToFloat16Bits(values))));
      const half = file.readFloat32('half');
      expect(half[4]).toBe(65504);
      expect(half[5]).toBe(Infinity); // 1e6 overflows half
      expect(half[6]).toBe(2 ** -24); // smallest subnormal survives
      expect(Number.isNaN(half[10])).toBe(true);
      expect(Math.abs(half[8] - 1 / 3)).toBeLessThan(2 ** -12);
      expect(Array.from(file.readFloat32('full'))).toEqual(Array.from(values));
      expect(file.readInt64AsNumbers('ids')).toEqual([1, -100, 2 ** 40, 0]);
      expect(file.readInt64('big')[0]).toBe(2n ** 60n);
      expectLoadError(() => file.readInt64AsNumbers('big'), 'mixed.safetensors', /"big".*safe JS integer/);
    });
  });

  it('replaces a file atomically: an open reader keeps the old data, no temporary file is left', () => {
    const path = join(dir, 'replaced.safetensors');
    writeSafetensors(path, [{ name: 'w', dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) }]);
    withFile(path, (before) => {
      writeSafetensors(path, [{ name: 'w', dtype: 'F32', shape: [2], data: Float32Array.from([3, 4]) }]);
      expect(Array.from(before.readFloat32('w'))).toEqual([1, 2]);
    });
    withFile(path, (after) => expect(Array.from(after.readFloat32('w'))).toEqual([3, 4]));
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a shape that does not match the data', () => {
    expect(() =>
      writeSafetensors(join(dir, 'bad.safetensors'), [{ name: 'w', dtype: 'F32', shape: [3], data: new Float32Array(2) }]),
    ).toThrow(/"w" has shape \[3\] but 2 values/);
  });
});

describe('malformed safetensors files', () => {
  const dir = tempDir();
  const good = join(dir, 'good.safetensors');
  writeSafetensors(good, [
    { name: 'a', dtype: 'F32', shape: [4], data: Float32Array.from([1, 2, 3, 4]) },
    { name: 'b', dtype: 'F32', shape: [2, 2], data: Float32Array.from([5, 6, 7, 8]) },
  ]);

  it('names the tensor cut off by a truncated file', () => {
    const bytes = readFileSync(good);
    const path = join(dir, 'truncated.safetensors');
    writeFileSync(path, bytes.subarray(0, bytes.length - 3));
    expectLoadError(() => SafetensorsFile.open(path), 'truncated.safetensors', /tensor "b": file is truncated/);
    writeFileSync(path, bytes.subarray(0, 5));
    expectLoadError(() => SafetensorsFile.open(path), 'truncated.safetensors', /truncated: 5 bytes/);
  });

  it('rejects a header length beyond the file', () => {
    const path = join(dir, 'long-header.safetensors');
    rawSafetensors(path, {}, new Uint8Array(0), 1 << 20);
    expectLoadError(() => SafetensorsFile.open(path), 'long-header.safetensors', /header length 1048576 exceeds/);
  });

  it('rejects a header that is not JSON', () => {
    const path = join(dir, 'bad-json.safetensors');
    const json = Buffer.from('{"a": {"dtype": "F32", ');
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(path, Buffer.concat([length, json]));
    expectLoadError(() => SafetensorsFile.open(path), 'bad-json.safetensors', /invalid JSON/);
  });

  it('rejects offsets that disagree with dtype x shape, unknown dtypes and bad shapes', () => {
    const path = join(dir, 'bad-entry.safetensors');
    const data = new Uint8Array(16);
    rawSafetensors(path, { w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, data);
    expectLoadError(() => SafetensorsFile.open(path), 'bad-entry.safetensors', /"w": data_offsets span 16 bytes but F32 \[3\] needs 12/);
    rawSafetensors(path, { w: { dtype: 'Q4', shape: [4], data_offsets: [0, 16] } }, data);
    expectLoadError(() => SafetensorsFile.open(path), 'bad-entry.safetensors', /"w": unknown dtype "Q4"/);
    rawSafetensors(path, { w: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, data);
    expectLoadError(() => SafetensorsFile.open(path), 'bad-entry.safetensors', /"w": invalid shape/);
    rawSafetensors(path, { w: { dtype: 'F32', shape: [4], data_offsets: [16, 0] } }, data);
    expectLoadError(() => SafetensorsFile.open(path), 'bad-entry.safetensors', /"w": invalid data_offsets/);
  });

  it('names a missing file', () => {
    expectLoadError(() => SafetensorsFile.open(join(dir, 'absent.safetensors')), 'absent.safetensors', /not found/);
  });
});
