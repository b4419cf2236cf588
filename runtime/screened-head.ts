/**
 * The exact greedy token of an f32 model without the f32 LM head. At batch 32 on the CPU the head
 * ([D, V] = 16.4 M weights at flan-t5-small) took 12.3 of a 29 ms decoder step. The decoder graph
 * computes the head's logits on int8 weights instead (u8s8 GEMM, one activation scale per row, one
 * weight scale per column: ~2.6 ms) and hands back their top k; this class bounds how far an int8
 * logit can be from the exact one, keeps the screened tokens that could still be the best, and
 * rescores those from the f32 weights (a few dot products a row). The result is the argmax of the
 * exact logits, not an approximation: where the top k cannot prove it (more than k tokens within the
 * bound, or a non-finite value), the row is reported uncertain and the caller runs the f32 head.
 *
 * The bound, for a row x (scale a = max|x| / 127, x^ = a * round(x / a)) and a token j (weights w_j,
 * scale s_j = max|w_j| / 127, w^_j = s_j * round(w_j / s_j)):
 *   |x.w_j - x^.w^_j| <= a/2 * |w_j|_1 + s_j/2 * |x^|_1 <= a/2 * max_j |w_j|_1 + max_j s_j / 2 * (|x|_1 + D a/2),
 * plus the int8 path's float rounding, far below the slack added for it.
 */
const F32_MAX = 3.4028234663852886e38;

export class ScreenedHead {
  /** max over tokens of |w_j|_1, of s_j, and of |w| */
  private readonly maxRowL1: number;
  private readonly maxScale: number;
  private readonly maxAbs: number;

  /** `weight`: the head's f32 weights [V, D] (a token's weights are a row), as the checkpoint stores them. */
  constructor(
    readonly weight: Float32Array,
    readonly vocabSize: number,
    readonly dModel: number,
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
    this.maxScale = maxAbs / 127;
    this.maxAbs = maxAbs;
  }

  /** How far any screened logit of the head input `x` may be from its exact value. */
  errorBound(x: Float32Array): number {
    let l1 = 0;
    let absMax = 0;
    for (const v of x) {
      const m = Math.abs(v);
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
    let sum = 0;
    const base = j * this.dModel;
    for (let k = 0; k < this.dModel; k++) sum += x[k] * this.weight[base + k];
    return sum;
  }

  /**
   * For each of R rows: the head input [R, D] and the top k screened logits [R, k] (descending) with
   * their token ids. Returns the exact argmax per row, and the rows whose top k could not prove it.
   */
  pick(input: Float32Array, values: Float32Array, ids: BigInt64Array, topK: number): { greedyIds: BigInt64Array; uncertain: number[] } {
    const rows = values.length / topK;
    const greedyIds = new BigInt64Array(rows);
    const uncertain: number[] = [];
    for (let r = 0; r < rows; r++) {
      const x = input.subarray(r * this.dModel, (r + 1) * this.dModel);
      const top = values.subarray(r * topK, (r + 1) * topK);
      const bound = this.errorBound(x);
      let best = -1;
      let bestLogit = -Infinity;
      // In descending screened order: once a token's screened logit plus the bound falls below the best
      // exact logit so far, neither it nor any after it can win.
      for (let i = 0; i < topK && !(top[i] + bound < bestLogit); i++) {
        const j = Number(ids[r * topK + i]);
        const logit = this.exactLogit(x, j);
        // Ties go to the lower id, as ArgMax's first maximum does.
        if (logit > bestLogit || (logit === bestLogit && j < best)) {
          best = j;
          bestLogit = logit;
        }
      }
      // A token outside the top k has a screened logit of at most the k-th. NaN fails the comparison:
      // such a row goes to the f32 head, which says what it is.
      if (top[topK - 1] + bound < bestLogit) greedyIds[r] = BigInt(best);
      else uncertain.push(r);
    }
    return { greedyIds, uncertain };
  }
}
