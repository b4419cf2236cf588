import { describe, expect, it } from 'vitest';
import { TrainStepSession } from '../../finetune/trainer/train-step.ts';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { SafetensorsFile } from '../../runtime/checkpoint/safetensors.ts';
import { greedyDecode } from '../../runtime/engine/greedy-decode.ts';
import { placementWarnings } from '../../runtime/device/node-placement.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { webgpuSkipReason } from '../helpers/device-under-test.ts';
import { hasShared, referenceDir, relativeError, rowsOf } from '../helpers/shared-fixtures.ts';

/**
 * onnxruntime's bundled WebGPU provider against the CPU, on whatever Vulkan device is here (Mesa's
 * llvmpipe in CI). Skipped, with the reason, where there is none.
 */
const skip = !hasShared || (await webgpuSkipReason()) !== undefined;

describe.skipIf(skip)('the WebGPU device', () => {
  const { config, weights, generationConfig } = hasShared ? loadModelDir(`${referenceDir}/t5-tiny-flan-f32`, { requireTokenizer: false }) : undefined!;
  const runners = async () =>
    Promise.all([T5Runner.fromWeights(config, weights, { device: 'cpu', threads: 1 }), T5Runner.fromWeights(config, weights, { device: 'webgpu', threads: 1 })]);

  // Prompts of different lengths, so the batch carries padding.
  const prompts = [[13, 7, 99, 4, 1], [5, 1], [42, 42, 8, 1], [3, 17, 28, 11, 6, 2, 1], [9, 1], [77, 60, 1], [14, 15, 16, 1], [8, 1]];
  const width = Math.max(...prompts.map((p) => p.length));
  const inputIds = prompts.map((p) => [...p, ...new Array<number>(width - p.length).fill(0)]);
  const attentionMask = prompts.map((p) => inputIds[0].map((_, i) => (i < p.length ? 1 : 0)));

  it('runs the teacher-forced pass (no zero-sized past cache) within 1e-3 of the CPU, computed on the GPU provider', async () => {
    const [cpu, gpu] = await runners();
    try {
      const decoderIds = prompts.map((_, b) => [0, 5 + b, 9, 2 * b + 1]);
      const onCpu = await cpu.forward(inputIds, attentionMask, decoderIds);
      const onGpu = await gpu.forward(inputIds, attentionMask, decoderIds);
      const a = Array.from(onGpu.logits.data as Float32Array);
      const b = Array.from(onCpu.logits.data as Float32Array);
      expect(relativeError(a, b)).toBeLessThan(1e-3);
      expect(a).not.toEqual(b);
      for (const p of gpu.nodePlacement) expect(p.nodes.WebGpuExecutionProvider).toBeGreaterThan(0);
      // No graph waits for the device mid-run: the int64 work left to the CPU takes no device tensor
      // (the relative-position buckets come from a table, not from float ops on the GPU).
      expect(gpu.nodePlacement.map((p) => [p.graph, p.hostCopies])).toEqual(gpu.nodePlacement.map((p) => [p.graph, 0]));
      // What stays on the CPU is reported, never hidden: the log shows it in the test output.
      console.info('webgpu placement', JSON.stringify(gpu.nodePlacement), placementWarnings(gpu.nodePlacement));
    } finally {
      await Promise.all([cpu.release(), gpu.release()]);
    }
  });

  it('batched greedy decoding (8 padded rows, KV cache) gives the ids the CPU gives', async () => {
    const [cpu, gpu] = await runners();
    try {
      const options = {
        maxNewTokens: 12,
        decoderStartTokenId: generationConfig.decoderStartTokenId,
        eosTokenId: config.eosTokenId,
        padTokenId: config.padTokenId,
      };
      const onCpu = await greedyDecode(cpu, inputIds, attentionMask, options);
      const onGpu = await greedyDecode(gpu, inputIds, attentionMask, options);
      expect(onCpu.every((row) => row.length > 1)).toBe(true);
      expect(onGpu).toEqual(onCpu);
    } finally {
      await Promise.all([cpu.release(), gpu.release()]);
    }
  });

  // The trainer itself stays on the CPU (bit-for-bit resume needs a fixed reduction order), but its graph runs here too.
  it('the train step (loss and every gradient) runs on WebGPU within 1e-3 of the PyTorch reference', async () => {
    const file = SafetensorsFile.open(`${referenceDir}/t5-tiny-flan-f32/expected.safetensors`);
    const ints = (name: string) => rowsOf(file.readInt64AsNumbers(name), file.info(name).shape[1]);
    const step = await TrainStepSession.create(config, {}, { device: 'webgpu', threads: 1 });
    try {
      const params = new Map([...weights].map(([name, w]) => [name, w.data]));
      const batch = { inputIds: ints('input_ids'), attentionMask: ints('attention_mask'), decoderInputIds: ints('decoder_input_ids'), labels: ints('labels') };
      const result = await step.run(params, batch);
      expect(Math.abs(result.loss - file.readFloat32('loss')[0])).toBeLessThan(1e-3);
      for (const name of file.names().filter((n) => n.startsWith('grad.'))) {
        expect(relativeError(result.grads.get(name.slice('grad.'.length))!, file.readFloat32(name))).toBeLessThan(1e-3);
      }
    } finally {
      file.close();
      await step.release();
    }
  });
});
