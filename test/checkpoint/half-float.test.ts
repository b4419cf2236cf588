import { describe, expect, it } from 'vitest';
import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from '../../runtime/checkpoint/half-float.ts';

const f16 = (...bits: number[]) => Array.from(float16BitsToFloat32(Uint16Array.from(bits)));
const toF16 = (...values: number[]) => Array.from(float32ToFloat16Bits(Float32Array.from(values)));

describe('float16', () => {
  it('decodes zeros, subnormals, normals, infinities and NaN', () => {
    expect(f16(0x0000, 0x8000)).toEqual([0, -0]);
    expect(f16(0x0001, 0x03ff, 0x8001)).toEqual([2 ** -24, 1023 * 2 ** -24, -(2 ** -24)]);
    expect(f16(0x0400, 0x3c00, 0xc000, 0x7bff)).toEqual([2 ** -14, 1, -2, 65504]);
    expect(f16(0x7c00, 0xfc00)).toEqual([Infinity, -Infinity]);
    expect(f16(0x7e00, 0x7c01).every(Number.isNaN)).toBe(true);
  });

  it('round-trips every non-NaN half exactly', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const back = float32ToFloat16Bits(float16BitsToFloat32(all));
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaN) expect((back[h] & 0x7c00) === 0x7c00 && (back[h] & 0x3ff) !== 0).toBe(true);
      else if (back[h] !== h) expect.fail(`half 0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
    }
  });

  it('rounds to nearest, ties to even, overflowing to infinity and underflowing to zero', () => {
    expect(toF16(1 + 2 ** -11)).toEqual([0x3c00]); // tie between 1 and its successor: even (1)
    expect(toF16(1 + 3 * 2 ** -11)).toEqual([0x3c02]); // tie: even (up)
    expect(toF16(1 + 2 ** -11 + 2 ** -20)).toEqual([0x3c01]); // just above the tie
    expect(toF16(65520, 1e6, -1e6)).toEqual([0x7c00, 0x7c00, 0xfc00]);
    expect(toF16(65519)).toEqual([0x7bff]);
    expect(toF16(2 ** -25, 2 ** -25 * 1.01, 3 * 2 ** -25)).toEqual([0x0000, 0x0001, 0x0002]);
    expect(toF16(2 ** -14 - 2 ** -25)).toEqual([0x0400]); // largest subnormal tie rounds into the normals
    expect(toF16(1e-10, -1e-10)).toEqual([0x0000, 0x8000]);
  });
});

describe('bfloat16', () => {
  it('widens by shifting and narrows to nearest even, keeping NaN a NaN', () => {
    expect(Array.from(bfloat16BitsToFloat32(Uint16Array.from([0x3f80, 0xc040, 0x7f80, 0x0001])))).toEqual([
      1,
      -3,
      Infinity,
      2 ** -133,
    ]);
    const narrowed = float32ToBfloat16Bits(Float32Array.from([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, NaN, -Infinity]));
    expect(Array.from(narrowed.slice(0, 4))).toEqual([0x3f80, 0x3f80, 0x3f82, 0x3f81]);
    expect(Number.isNaN(bfloat16BitsToFloat32(narrowed.slice(4, 5))[0])).toBe(true);
    expect(narrowed[5]).toBe(0xff80);
  });
});
