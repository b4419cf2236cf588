import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { createMeasuredSession } from '../../runtime/device/create-session.ts';
import { TensorCopy } from '../../runtime/device/tensor-copy.ts';
import { buildCacheRowsGraph } from '../../runtime/graph/cache-rows-graph.ts';
import { serializeModel } from '../../runtime/graph/onnx-serialize.ts';
import { BASE_ADAPTER } from '../../runtime/engine/adapter-slots.ts';
import { DecodeRunner } from '../../runtime/engine/decode-runner.ts';
import { DeviceKVCache } from '../../runtime/engine/device-kv-cache.ts';
import { ort } from '../../runtime/onnx-session.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { webgpuSkipReason } from '../helpers/device-under-test.ts';
import { hasShared, referenceDir, relativeError } from '../helpers/shared-fixtures.ts';

/**
 * The decode runner on WebGPU with its KV cache and cross K/V kept on the device (IO binding) against
 * the CPU runner, over a batch whose rows join and leave. Skipped, with the reason, without Vulkan.
 */
const skip = !hasShared || (await webgpuSkipReason()) !== undefined;

const prompts: Record<string, number[]> = {
  a: [13, 7, 99, 4, 1],
  b: [5, 1],
  c: [42, 42, 8, 1],
  d: [3, 17, 28, 11, 6, 2, 9, 1],
  e: [9, 1],
  f: [77, 60, 1],
  g: [14, 15, 16, 1],
  h: [8, 1],
  // g's prompt again: two rows on one pass's row.
  i: [14, 15, 16, 1],
};
/** Before step `at`, these rows leave and these join: a kept-only change, a mixed one, and a batch that starts over. */
const plan = [
  { at: 0, leave: [], join: ['a', 'b', 'c'] },
  { at: 3, leave: ['b'], join: ['d', 'e'] },
  { at: 5, leave: ['a'], join: [] },
  { at: 7, leave: ['c', 'd'], join: ['f'] },
  { at: 9, leave: ['e', 'f'], join: ['g', 'h', 'i'] },
];
const steps = 12;

interface StepRecord {
  batch: number;
  toDevice: number;
  toHost: number;
}

/** Runs the plan; returns each row's greedy ids and each step's transfer counts. */
async function decodePlan(runner: DecodeRunner, logits: boolean) {
  let running: string[] = [];
  const ids = new Map<string, number[]>();
  const records: StepRecord[] = [];
  for (let step = 0; step < steps; step++) {
    const change = plan.find((p) => p.at === step);
    if (change) {
      const keep = running.flatMap((name, i) => (change.leave.includes(name) ? [] : [i]));
      await runner.repack(keep, change.join.map((name) => ({ promptIds: prompts[name], adapter: BASE_ADAPTER })));
      running = [...keep.map((i) => running[i]), ...change.join];
      for (const name of change.join) ids.set(name, []);
    }
    const out = await runner.step(running.map((name) => ids.get(name)!.at(-1) ?? 0), { logits });
    running.forEach((name, b) => ids.get(name)!.push(Number(out.greedyIds[b])));
    const stats = runner.transferStats();
    records.push({ batch: running.length, toDevice: stats.lastStepToDeviceBytes, toHost: stats.lastStepToHostBytes });
  }
  return { ids, records };
}

describe.skipIf(skip)('the KV cache kept on the WebGPU device', () => {
  const { config, weights } = hasShared ? loadModelDir(`${referenceDir}/t5-tiny-flan-f32`, { requireTokenizer: false }) : undefined!;
  let cpu: T5Runner;
  let gpu: T5Runner;
  beforeAll(async () => {
    [cpu, gpu] = await Promise.all([T5Runner.fromWeights(config, weights, { device: 'cpu', threads: 1 }), T5Runner.fromWeights(config, weights, { device: 'webgpu', threads: 1 })]);
  });
  afterAll(async () => {
    await Promise.all([cpu?.release(), gpu?.release()]);
  });
  /** Bytes of one row's self-attention keys and values for one slot, all layers. */
  const slotBytes = 2 * config.numDecoderLayers * config.numHeads * config.dKv * 4;

  it('batched greedy decoding with rows joining and leaving gives the CPU ids; per step only ids and masks cross', async () => {
    const onCpu = await decodePlan(new DecodeRunner(cpu, 1 << 20), true);
    const onGpu = await decodePlan(new DecodeRunner(gpu, 1 << 20), false);
    expect([...onCpu.ids.values()].every((row) => row.length > 1)).toBe(true);
    expect(Object.fromEntries(onGpu.ids)).toEqual(Object.fromEntries(onCpu.ids));
    expect(onCpu.records.every((r) => r.toDevice === 0 && r.toHost === 0)).toBe(true);
    const longestPrompt = Math.max(...Object.values(prompts).map((p) => p.length));
    onGpu.records.forEach((r, step) => {
      // Back: the greedy ids only (int64), no logits, no keys or values.
      expect(r.toHost).toBe(r.batch * 8);
      // Over: ids, query positions, the encoder mask and the slots' mask and positions (int64), at most
      // one slot per step so far; a single slot of keys and values per row would already be more.
      expect(r.toDevice).toBeLessThanOrEqual(r.batch * 8 * (2 + longestPrompt + 2 * (step + 1)));
      expect(r.toDevice).toBeLessThan(r.batch * slotBytes * (step + 1));
    });
  });

  it("a batch's arrival crosses as token ids: the encoder's states and the cross K/V stay on the device", async () => {
    const runner = new DecodeRunner(gpu, 1 << 20);
    await decodePlan(runner, false);
    const stats = runner.transferStats();
    // Each join's rows padded to its longest prompt: an upper bound on its encoder passes' tokens.
    const paddedTokens = plan.reduce((sum, p) => sum + p.join.length * Math.max(0, ...p.join.map((name) => prompts[name as keyof typeof prompts].length)), 0);
    const statesBytes = paddedTokens * config.dModel * 4;
    expect(stats.repackToHostBytes).toBe(0);
    // Over: the prompts' ids and masks (int64) and the cache-rows graph's window scalars (2,200 B here);
    // half the encoder states alone would be more (they went back and over again before).
    expect(stats.repackToDeviceBytes).toBeGreaterThanOrEqual(paddedTokens * 2 * 8 * 0.5);
    expect(stats.repackToDeviceBytes).toBeLessThan(statesBytes / 2);
    runner.clear();
  });

  it('without the device cache (the path before), every step copies the whole cache over', async () => {
    const runner = new DecodeRunner(gpu, 1 << 20, { cacheOnDevice: false });
    const { records } = await decodePlan(runner, true);
    const last = records.at(-1)!;
    expect(last.toDevice).toBeGreaterThan(runner.kvCacheBytes() * 0.5);
    expect(last.toHost).toBeGreaterThanOrEqual(last.batch * (slotBytes + config.vocabSize * 4));
    runner.clear();
  });

  it('logits read back on request are within 1e-3 of the CPU, those of the rows asked for alone', async () => {
    const runners = [new DecodeRunner(cpu, 1 << 20), new DecodeRunner(gpu, 1 << 20)];
    const logits: number[][] = [];
    const vocab = config.vocabSize;
    let someRows: { logits: number[]; logitRows?: readonly number[]; toHost: number } | undefined;
    for (const runner of runners) {
      await runner.repack([], ['a', 'd', 'h'].map((name) => ({ promptIds: prompts[name], adapter: BASE_ADAPTER })));
      await runner.step([0, 0, 0], { logits: false });
      const out = await runner.step([5, 6, 7], { logits: true });
      logits.push(Array.from(out.logits!));
      if (runner.runner === gpu) {
        // Rows 2 and 0 of the same step again, in a second batch of the same rows: only they come back.
        const again = new DecodeRunner(gpu, 1 << 20);
        await again.repack([], ['a', 'd', 'h'].map((name) => ({ promptIds: prompts[name], adapter: BASE_ADAPTER })));
        await again.step([0, 0, 0], { logits: false });
        const out2 = await again.step([5, 6, 7], { logits: [2, 0] });
        someRows = { logits: Array.from(out2.logits!), logitRows: out2.logitRows, toHost: again.transferStats().lastStepToHostBytes };
        again.clear();
      }
      runner.clear();
    }
    expect(relativeError(logits[1], logits[0])).toBeLessThan(1e-3);
    expect(logits[1]).not.toEqual(logits[0]);
    const row = (all: number[], b: number) => all.slice(b * vocab, (b + 1) * vocab);
    expect(someRows!.logitRows).toEqual([2, 0]);
    expect(someRows!.logits).toEqual([...row(logits[1], 2), ...row(logits[1], 0)]);
    // Back: the three greedy ids and two rows of logits, not three.
    expect(someRows!.toHost).toBe(3 * 8 + 2 * vocab * 4);
  });

  it('the cache-rows graph moves the cache on WebGPU: only its int64 window arithmetic is left to the CPU', async () => {
    for (const parts of [{ kept: true, joining: false }, { kept: true, joining: true }, { kept: false, joining: true }]) {
      const graph = buildCacheRowsGraph(2, parts);
      const { session, placement } = await createMeasuredSession(serializeModel(graph), { device: 'webgpu', threads: 1 }, graph.name, ['rows.0', 'rows.1']);
      await session.release();
      // Slice and Pad see only the float cache; a Gather or Concat of it on the CPU would copy it across twice.
      expect(placement.cpuFallbackOps).not.toContain('Slice');
      expect(placement.cpuFallbackOps).not.toContain('Pad');
      const floatOpsPerTensor = (parts.kept ? 3 : 0) + (parts.joining ? 2 : 0) + (parts.kept && parts.joining ? 1 : 0) + 2; // Gather, Slice, Pad; Slice, Pad; Concat; Pad, Identity
      expect(placement.nodes.WebGpuExecutionProvider).toBeGreaterThanOrEqual(2 * floatOpsPerTensor);
    }
  });

  it('every device tensor it replaces is disposed: live ones stay at one per layer input, none after clear', async () => {
    const created = vi.spyOn(ort.Tensor, 'fromGpuBuffer');
    const disposed = vi.spyOn(ort.Tensor.prototype, 'dispose');
    try {
      const runner = new DecodeRunner(gpu, 1 << 20);
      const live = () => created.mock.calls.length - disposed.mock.contexts.filter((t) => (t as ort.Tensor).location !== 'cpu').length;
      await runner.repack([], ['a', 'b'].map((name) => ({ promptIds: prompts[name], adapter: BASE_ADAPTER })));
      for (let i = 0; i < 6; i++) {
        await runner.step([i, i], { logits: false });
        // Past keys and values plus cross keys and values, per decoder layer.
        expect(live()).toBe(4 * config.numDecoderLayers);
      }
      await runner.repack([1], [{ promptIds: prompts.c, adapter: BASE_ADAPTER }]);
      expect(live()).toBe(4 * config.numDecoderLayers);
      // A repack that fails on a run over the cache leaves the batch as it was and frees all it made on
      // the way. b and e (2 tokens) share a pass and d (8) has its own, so the runs are: the past, the two
      // passes appended, then the pick into joining order; it fails on the second pass, then on the pick.
      type WithRows = { rowsOnDevice: (...args: unknown[]) => Promise<ort.Tensor[]> };
      const original = (DeviceKVCache.prototype as unknown as WithRows).rowsOnDevice;
      for (const failing of [3, 4]) {
        let calls = 0;
        const rowsOnDevice = vi.spyOn(DeviceKVCache.prototype as unknown as WithRows, 'rowsOnDevice').mockImplementation(function (this: unknown, ...args: unknown[]) {
          calls += 1;
          return calls === failing ? Promise.reject(new Error('device lost')) : original.apply(this, args);
        });
        const joining = ['b', 'd', 'e'].map((name) => ({ promptIds: prompts[name], adapter: BASE_ADAPTER }));
        await expect(runner.repack([0], joining)).rejects.toThrow('device lost');
        rowsOnDevice.mockRestore();
        expect(calls).toBe(failing);
        expect(live()).toBe(4 * config.numDecoderLayers);
      }
      // A step whose logits cannot be read back fails, and its grown cache is freed with the rest.
      const toHost = vi.spyOn(TensorCopy.prototype, 'toHost').mockRejectedValueOnce(new Error('device lost'));
      await expect(runner.step([3, 3], { logits: true })).rejects.toThrow('device lost');
      toHost.mockRestore();
      expect(live()).toBe(4 * config.numDecoderLayers);
      runner.clear();
      expect(live()).toBe(0);
    } finally {
      created.mockRestore();
      disposed.mockRestore();
    }
  });
});
