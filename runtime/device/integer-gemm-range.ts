import ort from 'onnxruntime-node';
import { GraphBuilder } from '../graph/graph-builder.ts';
import { serializeModel } from '../graph/onnx-serialize.ts';
import { contribOpsets, FULL_WEIGHT_LEVELS, REDUCED_WEIGHT_LEVELS, toIntegerGemm, type WeightLevels } from '../graph/quantize-weights.ts';
import { createSession } from './create-session.ts';

/**
 * How wide the int8 weights of onnxruntime's u8s8 integer GEMM (MatMulIntegerToFloat: the int8-gemm
 * format and the screened head) may be on this CPU.
 *
 * On x64 CPUs with AVX2 but without VNNI (before Cascade Lake or Ice Lake; AMD before Zen 4) MLAS
 * multiplies with vpmaddubsw, which adds each pair of u8 x s8 products in a saturating int16; its AVX-512
 * kernel without VNNI does the same. With activations up to 255 and weights up to 127 a pair reaches
 * 64,770 and is clipped to 32,767: on an emulated Haswell a dot product of 64 ones came out 0.506, and the
 * screened head, whose exactness rests on a rounding bound, picked the wrong token
 * (test/device/integer-gemm-range.test.ts). Weights of at most 63 keep every pair within 32,130
 * (onnxruntime's own remedy, reduce_range). VNNI adds in int32, and the SSE and ARM kernels widen
 * first, so there the full range holds.
 *
 * The kernel itself is asked, not the CPU's flags: the answer is what MLAS dispatches to, also under an
 * emulator or a hypervisor (qemu-user shows the host's /proc/cpuinfo while emulating a CPU without
 * VNNI), with no platform-specific code. One product of ones, whose every pair saturates in int16,
 * through the same pass the served graphs take.
 */
export function integerGemmWeightLevels(): Promise<WeightLevels> {
  probed ??= probe();
  return probed;
}

let probed: Promise<WeightLevels> | undefined;

/** The range in words, for `flan-serve devices` and the server's startup warning. */
export function describeWeightLevels(levels: WeightLevels): string {
  return levels === FULL_WEIGHT_LEVELS
    ? `integer GEMM (int8-gemm, the screened head): int8 weights within +-${levels}`
    : `integer GEMM (int8-gemm, the screened head): int8 weights within +-${levels}, not +-${FULL_WEIGHT_LEVELS}: this CPU's u8s8 kernel adds product pairs in a saturating 16-bit integer (x64 without VNNI), so int8-gemm is a little less accurate here`;
}

const K = 64;

async function probe(): Promise<WeightLevels> {
  const g = new GraphBuilder('integer_gemm_probe');
  const x = g.input('x', 'float32', [1, K]);
  const w = g.initializer('w', { dtype: 'float32', shape: [K, 1], data: new Float32Array(K).fill(1) });
  g.output(g.matmul(x, w), 'y', 'float32', [1, 1]);
  const graph = toIntegerGemm(g.build(), () => true, FULL_WEIGHT_LEVELS);
  const session = await createSession(serializeModel(graph, { extraOpsets: contribOpsets(graph) }), { device: 'cpu', threads: 1 });
  try {
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(K).fill(1), [1, K]) });
    const y = (out.y.data as Float32Array)[0];
    return Math.abs(y - K) < 1e-3 * K ? FULL_WEIGHT_LEVELS : REDUCED_WEIGHT_LEVELS;
  } finally {
    await session.release();
  }
}
