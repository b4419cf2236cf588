import type { WeightLevels } from './graph/quantize-weights.ts';

/**
 * The exact greedy token of an f32 model without the f32 LM head. At batch 32 on the CPU the head
 * ([D, V] = 16.4 M weights at flan-t5-small) took 12.3 of a 29 ms decoder step. The decoder graph
 * computes the head's logits on int8 weights instead (u8s8 GEMM, one activation scale per row, one
 * weight scale per column: ~2.6 ms) and hands back the blocks of tokens with the largest of them (see
 * screenedHeadOutputs in t5-graphs.ts); this class bounds how far an int8 logit can be from the exact
 * one and rescores from the f32 weights the tokens that could still be the best (a few dot products a
 * row). The result is the argmax of the exact logits, not an approximation: where the blocks cannot
 * prove it (a token outside them within the bound, more than MAX_RESCORED tokens within it, or a
 * non-finite value), the row is reported uncertain and the caller runs the f32 head.
 *
 * The bound, for a row x (scale a = max|x| / 127, x^ = a * round(x / a)) and a token j (weights w_j,
 * scale s_j = max|w_j| / L, w^_j = s_j * round(w_j / s_j), L = 127 or 63: integer-gemm-range.ts):
 *   |x.w_j - x^.w^_j| <= a/2 * |w_j|_1 + s_j/2 * |x^|_1 <= a/2 * max_j |w_j|_1 + max_j s_j / 2 * (|x|_1 + D a/2),
 * plus the int8 path's float rounding, far below the slack added for it.
 */
const F32_MAX = 3.4028234663852886e38;

/** The most tokens of a row rescored from the f32 weights; a row with more goes to the f32 head. */
const MAX_RESCORED = 128;

export class ScreenedHead {
  /** max over tokens of |w_j|_1, of s_j, and of |w| */
  private readonly maxRowL1: number;
  private readonly maxScale: number;
  private readonly maxAbs: number;

  /**
   * `weight`: the head's f32 weights [V, D] (a token's weights are a row), as the checkpoint stores them;
   * `weightLevels`: the largest |q| of the screen's int8 weights (the graph's toIntegerGemm).
   */
  constructor(
    readonly weight: Float32Array,
    readonly vocabSize: number,
    readonly dModel: number,
    readonly weightLevels: WeightLevels,
  ) {
    let maxRowL1 = 0;
    let maxAbs = 0;
    for (let j = 0; j < vocabSize; j++) {
      let l1 = 0;
      let rowMax = 0;
      for (let k = j * dModel; k < (j + 1) * dModel; k++) {
        const v = Math.abs(weight[k]);
        l1 += v;
        if (v > rowMax) rowMax = v;
      }
      if (l1 > maxRowL1) maxRowL1 = l1;
      if (rowMax > maxAbs) maxAbs = rowMax;
    }
    this.maxRowL1 = maxRowL1;
    this.maxScale = maxAbs / weightLevels;
    this.maxAbs = maxAbs;
  }

  /** How far any screened logit of the head input `x` may be from its exact value. */
  errorBound(x: Float32Array): number {
    let l1 = 0;
    let absMax = 0;
    for (let k = 0; k < x.length; k++) {
      const m = Math.abs(x[k]);
      l1 += m;
      if (m > absMax) absMax = m;
    }
    const a = absMax / 127;
    const roundedL1 = l1 + (this.dModel * a) / 2;
    // Float rounding of the int8 path (relative 2^-24 per operation) and of the exact rescoring, generously.
    const slack = 1e-5 * roundedL1 * (this.maxAbs + this.maxScale);
    return (a / 2) * this.maxRowL1 + (this.maxScale / 2) * roundedL1 + slack;
  }

  /** Whether every logit of head inputs [R, D] is finite in f32: |x.w_j| <= |x|_1 max|w| stays below its largest value. */
  logitsFinite(input: Float32Array): boolean {
    for (let r = 0; r < input.length / this.dModel; r++) {
      let l1 = 0;
      for (let k = r * this.dModel; k < (r + 1) * this.dModel; k++) l1 += Math.abs(input[k]);
      if (!(l1 * this.maxAbs < F32_MAX)) return false;
    }
    return input.length > 0;
  }

  /** The exact logit of token j for the head input x (double-precision accumulation). */
  exactLogit(x: Float32Array, j: number): number {
    // Four sums, so the multiply-adds do not wait on each other: ~2x faster than one, and still in doubles.
    const w = this.weight;
    const d = this.dModel;
    const base = j * d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let k = 0;
    for (; k + 4 <= d; k += 4) {
      s0 += x[k] * w[base + k];
      s1 += x[k + 1] * w[base + k + 1];
      s2 += x[k + 2] * w[base + k + 2];
      s3 += x[k + 3] * w[base + k + 3];
    }
    for (; k < d; k++) s0 += x[k] * w[base + k];
    return s0 + s1 + (s2 + s3);
  }

  /**
   * For each of R rows: the head input [R, D], the screen's blocks [R, n] (block ids, by descending
   * maximum) with their screened logits [R, n, size], and those maxima [R, m], where m = n + 1 says the
   * last bounds every logit outside the blocks (m = n: the blocks are the whole vocabulary). Returns
   * the exact argmax per row, and the rows the blocks could not settle.
   */
  pick(input: Float32Array, maxima: Float32Array, blocks: BigInt64Array, values: Float32Array, size: number): { greedyIds: BigInt64Array; uncertain: number[] } {
    const rows = input.length / this.dModel;
    const n = blocks.length / rows;
    const m = maxima.length / rows;
    const greedyIds = new BigInt64Array(rows);
    const uncertain: number[] = [];
    for (let r = 0; r < rows; r++) {
      const best = this.bestOf(
        input.subarray(r * this.dModel, (r + 1) * this.dModel),
        blocks.subarray(r * n, (r + 1) * n),
        values.subarray(r * n * size, (r + 1) * n * size),
        maxima.subarray(r * m, (r + 1) * m),
        size,
      );
      if (best === undefined) uncertain.push(r);
      else greedyIds[r] = BigInt(best);
    }
    return { greedyIds, uncertain };
  }

  /** The exact best token of a row's blocks, or undefined where they cannot prove it. */
  private bestOf(x: Float32Array, ids: BigInt64Array, screened: Float32Array, maxima: Float32Array, size: number): number | undefined {
    const tokenAt = (i: number) => Number(ids[Math.floor(i / size)]) * size + (i % size);
    // The screen's best is in the first block; its exact logit first, so that a token whose screened
    // logit plus the bound falls below it is skipped unscored, and so is every later block whose maximum does.
    let top = 0;
    for (let i = 1; i < size; i++) if (screened[i] > screened[top]) top = i;
    let best = tokenAt(top);
    let bestLogit = this.exactLogit(x, best);
    const bound = this.errorBound(x);
    let rescored = 0;
    for (let b = 0; b < ids.length && maxima[b] + bound >= bestLogit; b++) {
      for (let i = b * size; i < (b + 1) * size; i++) {
        if (i === top || screened[i] + bound < bestLogit) continue;
        if (++rescored > MAX_RESCORED) return undefined;
        const j = tokenAt(i);
        const logit = this.exactLogit(x, j);
        // Ties go to the lower id, as ArgMax's first maximum does.
        if (logit > bestLogit || (logit === bestLogit && j < best)) {
          best = j;
          bestLogit = logit;
        }
      }
    }
    // A token outside the blocks has a screened logit of at most the next maximum. NaN fails the
    // comparison: such a row goes to the f32 head, which says what it is.
    const outside = maxima.length > ids.length ? maxima[ids.length] : -Infinity;
    return outside + bound < bestLogit ? best : undefined;
  }
}
