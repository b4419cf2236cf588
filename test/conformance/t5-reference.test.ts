import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../../runtime/checkpoint/safetensors.ts';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { greedyDecode } from '../../runtime/engine/greedy-decode.ts';
import { isGpuDevice } from '../../runtime/device/device-config.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { deviceSkipReason, deviceUnderTest, withoutDawnNotices } from '../helpers/device-under-test.ts';
import { hasShared, hf5Dir, hf5Models, referenceDir, referenceModels, relativeError, rowsOf } from '../helpers/shared-fixtures.ts';

const cli = fileURLToPath(new URL('../../bin/flan-serve.js', import.meta.url));

function readExpected(dir: string) {
  const file = SafetensorsFile.open(`${dir}/expected.safetensors`);
  try {
    const ints = (name: string) => rowsOf(file.readInt64AsNumbers(name), file.info(name).shape[1]);
    return {
      inputIds: ints('input_ids'),
      attentionMask: ints('attention_mask'),
      decoderInputIds: ints('decoder_input_ids'),
      greedyIds: ints('greedy_ids'),
      encoderStates: file.readFloat32('encoder_last_hidden_state'),
      logits: file.readFloat32('logits'),
    };
  } finally {
    file.close();
  }
}

/** The DESIGN's bounds: 1e-4 relative on the CPU, 1e-3 on a GPU device. */
const tolerance = isGpuDevice(deviceUnderTest) ? 1e-3 : 1e-4;

/** `flan-serve logits` on the fixture's inputs, on one device (the CLI honours FLAN_DEVICE). */
function cliLogits(dir: string, expected: ReturnType<typeof readExpected>, device: string) {
  const stdin = JSON.stringify({
    input_ids: expected.inputIds,
    attention_mask: expected.attentionMask,
    decoder_input_ids: expected.decoderInputIds,
  });
  const run = spawnSync(process.execPath, [cli, 'logits', '--model', dir], {
    input: stdin,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, FLAN_DEVICE: device },
  });
  expect(withoutDawnNotices(run.stderr)).toBe('');
  expect(run.status).toBe(0);
  const out = JSON.parse(run.stdout) as { encoder_last_hidden_state: number[][][]; logits: number[][][] };
  return { encoder: out.encoder_last_hidden_state.flat(2), logits: out.logits.flat(2) };
}

// t5-reference: a PyTorch port of HF's T5; t5-hf5: transformers 5.18 itself, on the files it writes
// (tie_word_embeddings always true, scale_decoder_outputs, an own lm_head.weight after a re-save).
const checkpoints = [
  ...referenceModels.map((model) => ({ source: 'the PyTorch reference', model, dir: `${referenceDir}/${model}` })),
  ...hf5Models.map((model) => ({ source: 'transformers 5.18', model, dir: `${hf5Dir}/${model}` })),
];

describe.skipIf(!hasShared || deviceSkipReason).each(checkpoints)(`conformance with $source on ${deviceUnderTest}: $model`, ({ dir }) => {
  const expected = hasShared ? readExpected(dir) : undefined!;

  it(`flan-serve logits matches encoder states and teacher-forced logits within ${tolerance} relative`, () => {
    const { encoder, logits } = cliLogits(dir, expected, deviceUnderTest);
    expect(encoder.length).toBe(expected.encoderStates.length);
    expect(relativeError(encoder, expected.encoderStates)).toBeLessThan(tolerance);
    expect(relativeError(logits, expected.logits)).toBeLessThan(tolerance);
    if (isGpuDevice(deviceUnderTest)) {
      // Close to the CPU's, but computed elsewhere: identical bits would mean the CPU ran it after all.
      const cpu = cliLogits(dir, expected, 'cpu');
      expect(relativeError(logits, cpu.logits)).toBeLessThan(tolerance);
      expect(logits).not.toEqual(cpu.logits);
    }
  });

  it('greedy decoding with the KV cache reproduces greedy_ids, batched with padding and one row at a time', async () => {
    const { config, weights, generationConfig } = loadModelDir(dir, { requireTokenizer: false });
    const runner = await T5Runner.fromWeights(config, weights, { device: deviceUnderTest, threads: 1 });
    try {
      // The fixture's rows have different lengths, so the batch carries padding in its encoder mask.
      expect(expected.attentionMask.some((row) => row.includes(0))).toBe(true);
      const options = {
        maxNewTokens: expected.greedyIds[0].length - 1,
        decoderStartTokenId: generationConfig.decoderStartTokenId,
        eosTokenId: config.eosTokenId,
        padTokenId: config.padTokenId,
      };
      const batched = await greedyDecode(runner, expected.inputIds, expected.attentionMask, options);
      expect(batched).toEqual(expected.greedyIds);
      for (let row = 0; row < expected.inputIds.length; row++) {
        const length = expected.attentionMask[row].reduce((a, b) => a + b, 0);
        const ids = expected.inputIds[row].slice(0, length);
        const [alone] = await greedyDecode(runner, [ids], [ids.map(() => 1)], options);
        // Alone, a row stops at its end-of-sequence token; in the batch it was padded after it.
        const padded = [...alone, ...new Array<number>(expected.greedyIds[row].length - alone.length).fill(config.padTokenId)];
        expect(padded).toEqual(expected.greedyIds[row]);
      }
    } finally {
      await runner.release();
    }
  });
});
