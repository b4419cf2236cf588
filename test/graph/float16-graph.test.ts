import { describe, expect, it } from 'vitest';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { SafetensorsFile } from '../../runtime/checkpoint/safetensors.ts';
import { ConfigError } from '../../runtime/config-error.ts';
import { createSession } from '../../runtime/device/create-session.ts';
import { sessionConfigFromEnv } from '../../runtime/device/device-config.ts';
import { toFloat16Compute } from '../../runtime/graph/float16-graph.ts';
import { GraphBuilder } from '../../runtime/graph/graph-builder.ts';
import { initializerBytes } from '../../runtime/graph/ir.ts';
import { serializeModel } from '../../runtime/graph/onnx-serialize.ts';
import { buildDecoderStepGraph } from '../../runtime/graph/t5-graphs.ts';
import { ort } from '../../runtime/onnx-session.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { webgpuSkipReason } from '../helpers/device-under-test.ts';
import { hasShared, referenceDir, referenceModels, relativeError, rowsOf } from '../helpers/shared-fixtures.ts';

/** Relative error of float16 compute against the float32 PyTorch reference on the tiny checkpoints. */
const CPU_TOLERANCE = 2e-2;
/** WebGPU's float16 kernels also accumulate in float16 (llvmpipe: ~5.5e-2 measured). */
const WEBGPU_TOLERANCE = 1e-1;

function fixture(model: string) {
  const dir = `${referenceDir}/${model}`;
  const { config, weights } = loadModelDir(dir, { requireTokenizer: false });
  const file = SafetensorsFile.open(`${dir}/expected.safetensors`);
  try {
    const ints = (name: string) => rowsOf(file.readInt64AsNumbers(name), file.info(name).shape[1]);
    const inputs = [ints('input_ids'), ints('attention_mask'), ints('decoder_input_ids')] as const;
    return { config, weights, inputs, logits: file.readFloat32('logits'), encoder: file.readFloat32('encoder_last_hidden_state') };
  } finally {
    file.close();
  }
}

async function forwardFp16(f: ReturnType<typeof fixture>, device: 'cpu' | 'webgpu', weights = f.weights) {
  const runner = await T5Runner.fromWeights(f.config, weights, { device, threads: 1, precision: 'fp16' });
  try {
    const out = await runner.forward(...f.inputs);
    return { logits: Array.from(out.logits.data as Float32Array), encoder: Array.from(out.encoderStates.data as Float32Array) };
  } finally {
    await runner.release();
  }
}

describe('FLAN_PRECISION', () => {
  it('is fp32 by default, takes fp16, and refuses fp16 over quantized weights', () => {
    expect(sessionConfigFromEnv({}).precision).toBe('fp32');
    expect(sessionConfigFromEnv({ FLAN_PRECISION: 'FP16' }).precision).toBe('fp16');
    expect(() => sessionConfigFromEnv({ FLAN_PRECISION: 'bf16' })).toThrow(ConfigError);
    expect(() => sessionConfigFromEnv({ FLAN_PRECISION: 'fp16', FLAN_WEIGHTS: 'int8' })).toThrow(/cannot be combined with FLAN_WEIGHTS=int8/);
  });
});

describe('the float16 pass', () => {
  it("clamps a float16 sum that would overflow to HF's 65504 - 1000 instead of infinity", async () => {
    const g = new GraphBuilder('overflow');
    const x = g.input('x', 'float32', [2]);
    g.output(g.add(x, x), 'y', 'float32', [2]);
    const session = await createSession(serializeModel(toFloat16Compute(g.build())), { device: 'cpu', threads: 1 });
    try {
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([60000, -1.5]), [2]) });
      // 64504 rounds to 64512 in float16 (its spacing there is 32); unclamped, 120000 would be infinity.
      expect(Array.from(out.y.data as Float32Array)).toEqual([64512, -3]);
    } finally {
      await session.release();
    }
  });
});

describe.skipIf(!hasShared).each(referenceModels)('float16 compute on the CPU: %s', (model) => {
  it(`logits within ${CPU_TOLERANCE} relative of the float32 reference, weights in half the bytes`, async () => {
    const f = fixture(model);
    const { logits, encoder } = await forwardFp16(f, 'cpu');
    expect(relativeError(logits, f.logits)).toBeLessThan(CPU_TOLERANCE);
    expect(relativeError(encoder, f.encoder)).toBeLessThan(CPU_TOLERANCE);
    // Rounded to float16 somewhere: float32 compute lands within 1e-5.
    expect(relativeError(logits, f.logits)).toBeGreaterThan(1e-4);
    const fp32 = buildDecoderStepGraph(f.config, f.weights);
    expect(initializerBytes(toFloat16Compute(fp32))).toBeLessThan(0.6 * initializerBytes(fp32));
  });
});

const noWebgpu = !hasShared || (await webgpuSkipReason()) !== undefined;

// On the CPU onnxruntime runs much float16 work through float32 kernels; WebGPU computes in float16.
describe.skipIf(noWebgpu)('float16 compute on WebGPU', () => {
  it(`logits within ${WEBGPU_TOLERANCE} relative of the float32 reference`, async () => {
    const f = fixture('t5-tiny-flan-f32');
    const { logits } = await forwardFp16(f, 'webgpu');
    expect(relativeError(logits, f.logits)).toBeLessThan(WEBGPU_TOLERANCE);
  });

  it('the overflow guard: a feed-forward that overflows float16 still gives finite logits', async () => {
    const f = fixture('t5-tiny-flan-f32');
    // wo (kept in float32, as HF does) x 1e5: its output, back in float16 for the residual sum, is past
    // 65504; unclamped, the infinity turns into NaN in the next RMSNorm.
    const name = 'encoder.block.0.layer.1.DenseReluDense.wo.weight';
    const big = new Map(f.weights);
    const w = f.weights.get(name)!;
    big.set(name, { ...w, data: w.data.map((v) => v * 1e5) });
    const { logits } = await forwardFp16(f, 'webgpu', big);
    expect(logits.every(Number.isFinite)).toBe(true);
  });
});
