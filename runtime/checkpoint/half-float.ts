/**
 * IEEE half (F16) and bfloat16 (BF16) <-> float32 conversions for checkpoints stored in 16 bits. The
 * graph runs in float32, so 16-bit tensors are widened on load and narrowed on save. Narrowing rounds
 * to nearest, ties to even, as PyTorch's .half() / .bfloat16() do, so a round trip through our writer
 * gives the bits PyTorch would have written.
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

// Every one of the 65536 halves as float32 bits: a table lookup is faster than decoding per element
// and is built from the one readable decoder below. 256 KiB, built on first use.
let f16ToF32BitsTable: Uint32Array | undefined;

function decodeFloat16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function float16BitsToFloat32(bits: Uint16Array): Float32Array {
  if (!f16ToF32BitsTable) {
    f16ToF32BitsTable = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) {
      scratchF32[0] = decodeFloat16(h);
      f16ToF32BitsTable[h] = scratchU32[0];
    }
  }
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = f16ToF32BitsTable[bits[i]];
  return out;
}

export function bfloat16BitsToFloat32(bits: Uint16Array): Float32Array {
  // bfloat16 is the top half of a float32, so widening is a shift.
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i] << 16;
  return out;
}

function float32BitsToFloat16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // inf, or a quiet NaN
  const e = exponent - 127 + 15; // exponent rebiased for half
  if (e >= 31) return sign | 0x7c00; // too large: infinity
  if (e <= 0) {
    // Half subnormal (or zero): value = m * 2^-24 with m = (1.mantissa * 2^23) >> (14 - e).
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    const full = mantissa | 0x800000;
    const shift = 14 - e;
    let m = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && m & 1)) m++; // may carry into the smallest normal: still right
    return sign | m;
  }
  let h = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry into exponent 31 is infinity: right
  return sign | h;
}

export function float32ToFloat16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32BitsToFloat16(bits[i]);
  return out;
}

export function float32ToBfloat16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = bits[i];
    if ((x & 0x7fffffff) > 0x7f800000) {
      out[i] = (x >>> 16) | 0x40; // NaN: keep it a (quiet) NaN, rounding could turn it into infinity
    } else {
      out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16; // round to nearest, ties to even
    }
  }
  return out;
}
