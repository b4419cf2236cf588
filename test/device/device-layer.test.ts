import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { ConfigError } from '../../runtime/config-error.ts';
import { finetuneSessionConfig } from '../../finetune/trainer/session-config.ts';
import { createSession, sessionOptionsFor } from '../../runtime/device/create-session.ts';
import { keepsTensorsOnDevice, parseDevice, sessionConfigFromEnv } from '../../runtime/device/device-config.ts';
import { assertFeedsFitDevice } from '../../runtime/device/feed-guard.ts';
import { placementFromProfile, placementWarnings } from '../../runtime/device/node-placement.ts';
import { probeDevice } from '../../runtime/device/probe-device.ts';
import { providerInstalled } from '../../runtime/device/providers.ts';
import { GraphBuilder } from '../../runtime/graph/graph-builder.ts';
import { serializeModel } from '../../runtime/graph/onnx-serialize.ts';
import { ort } from '../../runtime/onnx-session.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { hasShared, referenceDir } from '../helpers/shared-fixtures.ts';

describe('FLAN_DEVICE', () => {
  it('accepts cpu, webgpu and cuda in any case and defaults to cpu', () => {
    expect(parseDevice(undefined)).toBe('cpu');
    expect(parseDevice('WebGPU')).toBe('webgpu');
    expect(sessionConfigFromEnv({ FLAN_DEVICE: 'cuda' }).device).toBe('cuda');
  });

  it('refuses anything else, naming the choices', () => {
    expect(() => parseDevice('metal')).toThrow(ConfigError);
    expect(() => parseDevice('metal')).toThrow(/cpu, webgpu, cuda/);
  });

  it('every session names its thread count, so onnxruntime never pins its threads to cores (its default)', () => {
    const cpus = availableParallelism();
    expect(sessionOptionsFor({ device: 'cpu', threads: 0 })).toMatchObject({ intraOpNumThreads: cpus, interOpNumThreads: 1 });
    expect(sessionOptionsFor({ device: 'webgpu', threads: 0 }).intraOpNumThreads).toBe(cpus);
    expect(sessionOptionsFor({ device: 'cpu', threads: 3 })).toMatchObject({ intraOpNumThreads: 3, interOpNumThreads: 1 });
  });

  it("pool threads spin as the session config says: always (onnxruntime's default), only within a run, or never", () => {
    expect(sessionOptionsFor({ device: 'cpu', threads: 2 }).extra).toBeUndefined();
    expect(sessionOptionsFor({ device: 'cpu', threads: 2, spinning: 'always' }).extra).toBeUndefined();
    expect(sessionOptionsFor({ device: 'cpu', threads: 2, spinning: 'in-run' }).extra).toEqual({ session: { force_spinning_stop: '1' } });
    expect(sessionOptionsFor({ device: 'cpu', threads: 2, spinning: 'never' }).extra).toEqual({ session: { intra_op: { allow_spinning: '0' } } });
  });

  it('outputs stay on the device only where onnxruntime-node binds them: WebGPU buffers', () => {
    expect(sessionOptionsFor({ device: 'webgpu', threads: 0 }, ['present.0.key']).preferredOutputLocation).toEqual({ 'present.0.key': 'gpu-buffer' });
    expect(sessionOptionsFor({ device: 'webgpu', threads: 0 }).preferredOutputLocation).toBeUndefined();
    expect(() => sessionOptionsFor({ device: 'cuda', threads: 0 }, ['present.0.key'])).toThrow(/WebGPU buffers only/);
    expect(keepsTensorsOnDevice('webgpu')).toBe(true);
    expect(keepsTensorsOnDevice('cuda')).toBe(false);
    expect(keepsTensorsOnDevice('cpu')).toBe(false);
  });

  it('served sessions hand freed activation memory back unless FLAN_CPU_ARENA=on; other sessions keep the arena', () => {
    expect(sessionConfigFromEnv({}).cpuArena).toBe(false);
    expect(sessionConfigFromEnv({ FLAN_CPU_ARENA: 'ON' }).cpuArena).toBe(true);
    expect(() => sessionConfigFromEnv({ FLAN_CPU_ARENA: 'maybe' })).toThrow(/FLAN_CPU_ARENA must be on or off/);
    expect(sessionOptionsFor(sessionConfigFromEnv({})).enableCpuMemArena).toBe(false);
    expect(sessionOptionsFor(sessionConfigFromEnv({ FLAN_CPU_ARENA: 'on' })).enableCpuMemArena).toBeUndefined();
    expect(sessionOptionsFor({ device: 'cpu', threads: 0 }).enableCpuMemArena).toBeUndefined();
  });

  it('training sessions run without the memory pattern, whose planned block doubled a train step\'s activation memory', () => {
    expect(sessionOptionsFor(finetuneSessionConfig(2)).enableMemPattern).toBe(false);
    expect(sessionOptionsFor(sessionConfigFromEnv({})).enableMemPattern).toBeUndefined();
  });

  it('a GPU device puts its provider first, with the CPU behind it for shape arithmetic', () => {
    expect(sessionOptionsFor({ device: 'cpu', threads: 0 }).executionProviders).toEqual(['cpu']);
    expect(sessionOptionsFor({ device: 'webgpu', threads: 0 }).executionProviders).toEqual([{ name: 'webgpu' }, 'cpu']);
    expect(sessionOptionsFor({ device: 'cuda', threads: 2 })).toMatchObject({ executionProviders: [{ name: 'cuda' }, 'cpu'], intraOpNumThreads: 2 });
  });
});

function tinyMatmul(): Uint8Array {
  const g = new GraphBuilder('tiny');
  const a = g.input('a', 'float32', [1, 2]);
  const b = g.initializer('b', { dtype: 'float32', shape: [2, 1], data: Float32Array.from([1, 1]) });
  g.output(g.matmul(a, b), 'c', 'float32', [1, 1]);
  return serializeModel(g.build());
}

describe.skipIf(providerInstalled('cuda'))('CUDA where its provider is not installed', () => {
  it('creating a session is refused with what to install, not a crash or a silent CPU run', async () => {
    const attempt = createSession(tinyMatmul(), { device: 'cuda', threads: 1 });
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(/CUDA execution provider is not installed: install with ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });

  it('the device probe says it cannot run, and why', async () => {
    const probe = await probeDevice('cuda');
    expect(probe).toMatchObject({ device: 'cuda', installed: false, usable: false });
    expect(probe.reason).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });
});

describe('node placement', () => {
  it('counts each node once under the provider onnxruntime profiled it on', () => {
    const node = (name: string, provider: string, op: string) => ({ cat: 'Node', name: `${name}_kernel_time`, args: { provider, op_name: op } });
    const events = [
      { cat: 'Session', name: 'model_run' },
      node('mm', 'WebGpuExecutionProvider', 'MatMul'),
      node('mm', 'WebGpuExecutionProvider', 'MatMul'), // a second run of the same node
      node('relu', 'WebGpuExecutionProvider', 'Relu'),
      node('shape', 'CPUExecutionProvider', 'Shape'),
    ];
    const placement = placementFromProfile(events, 'g', 'webgpu');
    expect(placement.nodes).toEqual({ WebGpuExecutionProvider: 2, CPUExecutionProvider: 1 });
    expect(placement.cpuFallbackOps).toEqual(['Shape']);
    expect(placement.hostCopies).toBe(0);
    expect(placementWarnings([placement])).toEqual(['graph g: 1 of 3 nodes do not run on webgpu (CPU ops: Shape)']);
    expect(placementWarnings([placementFromProfile(events.slice(0, 3), 'g', 'webgpu')])).toEqual([]);
    // A copy back to the host inside the graph is counted and said.
    const withCopy = placementFromProfile([...events, node('copy', 'WebGpuExecutionProvider', 'MemcpyToHost')], 'g', 'webgpu');
    expect(withCopy.hostCopies).toBe(1);
    expect(placementWarnings([withCopy])).toEqual(['graph g: 1 of 4 nodes do not run on webgpu (CPU ops: Shape); 1 device-to-host copies mid-run, each a wait for the device']);
  });

  it.skipIf(!hasShared)("a CPU runner reports every node of its three graphs on the CPU's provider", async () => {
    const { config, weights } = loadModelDir(`${referenceDir}/t5-tiny-flan-f32`);
    const runner = await T5Runner.fromWeights(config, weights, { device: 'cpu', threads: 1 });
    try {
      expect(runner.nodePlacement.map((p) => p.graph)).toEqual(['t5_encoder', 't5_cross_kv', 't5_decoder_step']);
      for (const p of runner.nodePlacement) {
        expect(Object.keys(p.nodes)).toEqual(['CPUExecutionProvider']);
        expect(p.nodes.CPUExecutionProvider).toBeGreaterThan(5);
      }
      expect(placementWarnings(runner.nodePlacement)).toEqual([]);
    } finally {
      await runner.release();
    }
  });
});

describe('zero-sized feeds', () => {
  const empty = { past: new ort.Tensor('float32', new Float32Array(0), [2, 4, 0, 8]) };
  it('are refused for a GPU provider, which would crash the process on them', () => {
    expect(() => assertFeedsFitDevice('webgpu', empty)).toThrow(/feed "past" has a zero-sized dimension \[2, 4, 0, 8\]/);
    expect(() => assertFeedsFitDevice('cuda', empty)).toThrow(/zero-sized/);
  });

  it('pass on the CPU, which handles them', () => {
    expect(() => assertFeedsFitDevice('cpu', empty)).not.toThrow();
  });
});
