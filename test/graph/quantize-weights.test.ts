import { describe, expect, it } from 'vitest';
import { suiteQuality } from '../../bench/weights-quality.ts';
import { ConfigError } from '../../runtime/config-error.ts';
import { sessionConfigFromEnv } from '../../runtime/device/device-config.ts';
import { integerGemmWeightLevels } from '../../runtime/device/integer-gemm-range.ts';
import { GraphBuilder } from '../../runtime/graph/graph-builder.ts';
import { serializeModel } from '../../runtime/graph/onnx-serialize.ts';
import { contribOpsets, parseWeightFormat, quantizeBlockwise, quantizeColumns, quantizeGraphWeights, type WeightFormat } from '../../runtime/graph/quantize-weights.ts';
import { ort } from '../../runtime/onnx-session.ts';
import { SeededRandom } from '../../runtime/seeded-random.ts';
import { relativeError } from '../helpers/shared-fixtures.ts';

const K = 256;
const N = 96;
const M = 5;
const random = SeededRandom.fromSeed(3);
const gaussian = (n: number, scale: number) => Float32Array.from({ length: n }, () => random.normal() * scale);
const weights = gaussian(K * N, 0.05);
const input = gaussian(M * K, 1);

/** Unpacks value `index` of `bits` bits from bytes at `offset`, the inverse of the pass's packing. */
const unpack = (bytes: Uint8Array, offset: number, index: number, bits: number) =>
  bits === 8 ? bytes[offset + index] : (bytes[offset + (index >> 1)] >> ((index & 1) * 4)) & 15;

/** x [rows, K] times the test's weights in `format`, as one session; rows is left free. */
async function matMulSession(format: WeightFormat) {
  const g = new GraphBuilder('mm');
  const x = g.input('x', 'float32', ['rows', K]);
  g.initializer('w', { dtype: 'float32', shape: [K, N], data: weights.slice() });
  g.output(g.matmul(x, 'w'), 'y', 'float32', ['rows', N]);
  // The int8-gemm weight range this CPU takes, as the runner asks it.
  const graph = quantizeGraphWeights(g.build(), format, await integerGemmWeightLevels());
  const session = await ort.InferenceSession.create(serializeModel(graph, { extraOpsets: contribOpsets(graph) }));
  const run = async (x: Float32Array) => (await session.run({ x: new ort.Tensor('float32', x, [x.length / K, K]) })).y.data as Float32Array;
  return { graph, run, release: () => session.release() };
}

async function runMatMul(format: WeightFormat) {
  const { graph, run, release } = await matMulSession(format);
  const y = await run(input);
  await release();
  return { graph, y };
}

describe('weight-only quantization (FLAN_WEIGHTS)', () => {
  it.each([8, 4] as const)('blockwise %i-bit weights dequantize to within half a step, and zero stays exactly zero', (bits) => {
    const w = weights.slice();
    w[7 * N + 3] = 0;
    const q = quantizeBlockwise(w, K, N, bits, 32);
    const blocks = K / 32;
    const zpRow = Math.ceil((blocks * bits) / 8);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        const b = Math.floor(k / 32);
        const scale = q.scales[n * blocks + b];
        const value = (unpack(q.data, ((n * blocks + b) * 32 * bits) / 8, k % 32, bits) - unpack(q.zeroPoints, n * zpRow, b, bits)) * scale;
        expect(Math.abs(value - w[k * N + n])).toBeLessThanOrEqual(scale / 2 + 1e-7);
      }
    }
    const b = 0;
    expect((unpack(q.data, ((3 * blocks + b) * 32 * bits) / 8, 7, bits) - unpack(q.zeroPoints, 3 * zpRow, b, bits)) * q.scales[3 * blocks]).toBe(0);
  });

  it.each([127, 63] as const)('per-column int8 weights (int8-gemm) dequantize to within half a step, the column maximum to +-%i', (levels) => {
    const { q, scales } = quantizeColumns(weights, K, N, levels);
    for (let n = 0; n < N; n++) {
      let extreme = 0;
      for (let k = 0; k < K; k++) {
        expect(Math.abs(q[k * N + n] * scales[n] - weights[k * N + n])).toBeLessThanOrEqual(scales[n] / 2 + 1e-7);
        extreme = Math.max(extreme, Math.abs(q[k * N + n]));
      }
      expect(extreme).toBe(levels);
    }
  });

  it('f32 leaves the graph alone; int8 and int4 replace the MatMul by MatMulNBits, drop the f32 weight, and stay close', async () => {
    const f32 = await runMatMul('f32');
    expect(f32.graph.nodes.map((n) => n.op)).toContain('MatMul');
    for (const [format, bound] of [['int8', 0.02], ['int4', 0.15]] as const) {
      const { graph, y } = await runMatMul(format);
      const node = graph.nodes.find((n) => n.op === 'MatMulNBits')!;
      expect(node.domain).toBe('com.microsoft');
      expect(node.attrs.bits).toEqual({ kind: 'int', value: format === 'int8' ? 8 : 4 });
      expect(graph.initializers.has('w')).toBe(false);
      expect(graph.initializers.get(node.inputs[1])!.data.byteLength).toBe((K * N) / (format === 'int8' ? 1 : 2));
      const error = relativeError(y, f32.y);
      expect(error).toBeGreaterThan(0);
      expect(error).toBeLessThan(bound);
    }
  });

  it('int8-gemm replaces the MatMul by the integer GEMM over per-column int8 weights, drops the f32 weight, and stays close', async () => {
    const f32 = await runMatMul('f32');
    const { graph, y } = await runMatMul('int8-gemm');
    const node = graph.nodes.find((n) => n.op === 'MatMulIntegerToFloat')!;
    expect(node.domain).toBe('com.microsoft');
    expect(graph.nodes.map((n) => n.op)).not.toContain('MatMul');
    expect(graph.initializers.has('w')).toBe(false);
    expect(graph.initializers.get(node.inputs[1])).toMatchObject({ dtype: 'int8', shape: [K, N] });
    const error = relativeError(y, f32.y);
    expect(error).toBeGreaterThan(0);
    expect(error).toBeLessThan(0.02);
  });

  it('int8-gemm: an all-zero row comes out as zeros, not NaN', async () => {
    const { run, release } = await matMulSession('int8-gemm');
    const x = input.slice(0, 2 * K);
    x.fill(0, K);
    const y = await run(x);
    expect(Array.from(y.subarray(N))).toEqual(new Array<number>(N).fill(0));
    await release();
  });

  it('FLAN_WEIGHTS=int8-gemm is for the CPU only', () => {
    expect(sessionConfigFromEnv({ FLAN_WEIGHTS: 'int8-gemm' }).weights).toBe('int8-gemm');
    expect(() => sessionConfigFromEnv({ FLAN_WEIGHTS: 'int8-gemm', FLAN_DEVICE: 'webgpu' })).toThrow(ConfigError);
  });

  // A server batches unrelated requests: a row's answer must not depend on its neighbours. With
  // accuracy_level 4 the kernel quantizes activations to int8 on the fly, per row and per block of K,
  // and int8-gemm per row, so a row among rows a hundred times larger must come out bit for bit alike in
  // every batch, and as it does alone. Except int4 alone on x64 without AVX-512 VNNI: there onnxruntime
  // runs one row through another kernel, which rounds differently (4.2e-7 at most here under qemu-user
  // as a Haswell, where two rows and more agree bit for bit).
  it.each(['int8', 'int4', 'int8-gemm'] as const)('%s: a row of a batch comes out bit-exact whatever its neighbours, and as it does alone', async (format) => {
    const { run, release } = await matMulSession(format);
    const row = input.subarray(0, K);
    const inBatchOf = async (rows: number) => {
      const batch = gaussian(rows * K, 100);
      batch.set(row, (rows - 1) * K);
      return (await run(batch)).subarray((rows - 1) * N);
    };
    const inPair = await inBatchOf(2);
    for (const rows of [16, 24, 32]) expect(await inBatchOf(rows)).toEqual(inPair);
    const alone = await run(row.slice());
    if (format === 'int4') alone.forEach((v, i) => expect(Math.abs(v - inPair[i])).toBeLessThanOrEqual(1e-6));
    else expect(alone).toEqual(inPair);
    await release();
  });

  it('FLAN_WEIGHTS is read with the session settings and refuses unknown formats', () => {
    expect(sessionConfigFromEnv({}).weights).toBe('f32');
    expect(sessionConfigFromEnv({ FLAN_WEIGHTS: 'INT4' }).weights).toBe('int4');
    expect(() => parseWeightFormat('int3')).toThrow(ConfigError);
  });

  // int8 (the default quantized format) is held to identical outputs; int8-gemm, whose activations are
  // quantized per token over the whole row, to all but one answer identical and accuracy within a
  // point. Token agreement (the bar, >= 98%) is positional: on stage 5 the one answer int8-gemm
  // changes is a held-out family's near tie, wrong both ways (f32 "3", int8-gemm a 14-token sorted
  // list), and it alone takes agreement to 0.871 with 29/30 identical and accuracy equal. Stage 3:
  // 28/30 identical (0.985 of tokens); stage 4: 30/30.
  it('int8 flan-mini answers the synthetic prompts as f32 does (>= 98% identical greedy outputs); int8-gemm all but one', async () => {
    const quality = await suiteQuality(1, { formats: ['f32', 'int8', 'int8-gemm'], maxNewTokens: 24 });
    expect(quality.f32.prompts).toBeGreaterThanOrEqual(25);
    expect(quality.int8.identicalToF32).toBeGreaterThanOrEqual(0.98);
    expect(Math.round(quality['int8-gemm'].identicalToF32 * quality.f32.prompts)).toBeGreaterThanOrEqual(quality.f32.prompts - 1);
    for (const format of ['int8', 'int8-gemm'] as const) {
      expect(Math.abs(quality[format].accuracy - quality.f32.accuracy)).toBeLessThanOrEqual(0.01);
    }
  }, 120_000);

  // Each row decodes alike alone or in a batch (above), so the figures must not move with the batch
  // size: a row compared with its trailing padding read as different whenever another row of its
  // batch changed length (int4 changes some here, and so moved the agreement before the cut at EOS).
  it("the suite's agreement with f32 is the same whether prompts are decoded in batches of 16 or one by one", async () => {
    const options = { formats: ['f32', 'int4'] as WeightFormat[], maxNewTokens: 24 };
    const [batched, alone] = [await suiteQuality(1, { ...options, batch: 16 }), await suiteQuality(1, { ...options, batch: 1 })];
    expect(batched.int4.identicalToF32).toBeLessThan(1);
    expect(batched).toEqual(alone);
  }, 120_000);
});
