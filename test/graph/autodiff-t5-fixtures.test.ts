import { describe, expect, it } from 'vitest';
import { finetuneSessionConfig } from '../../finetune/trainer/session-config.ts';
import { TrainStepSession } from '../../finetune/trainer/train-step.ts';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { SafetensorsFile } from '../../runtime/checkpoint/safetensors.ts';
import { hasShared, referenceDir, referenceModels, relativeError, rowsOf } from '../helpers/shared-fixtures.ts';

/**
 * The train-step graph's loss and every parameter gradient against the PyTorch reference (Hugging
 * Face T5 semantics): loss to 1e-5, gradients to 1e-3 relative. The tied v1.0 checkpoint checks that
 * shared.weight accumulates its embedding and lm_head uses.
 */
describe.skipIf(!hasShared).each(referenceModels)('train step vs the PyTorch reference: %s', (model) => {
  it('loss within 1e-5 and every gradient within 1e-3 relative', async () => {
    const { config, weights } = loadModelDir(`${referenceDir}/${model}`, { requireTokenizer: false });
    const file = SafetensorsFile.open(`${referenceDir}/${model}/expected.safetensors`);
    const ints = (name: string) => rowsOf(file.readInt64AsNumbers(name), file.info(name).shape[1]);
    const step = await TrainStepSession.create(config, {}, finetuneSessionConfig(1));
    try {
      const params = new Map([...weights].map(([name, w]) => [name, w.data]));
      const result = await step.run(params, {
        inputIds: ints('input_ids'),
        attentionMask: ints('attention_mask'),
        decoderInputIds: ints('decoder_input_ids'),
        labels: ints('labels'),
      });
      const expectedLoss = file.readFloat32('loss')[0];
      expect(Math.abs(result.loss - expectedLoss)).toBeLessThan(1e-5);
      const expectedGrads = file.names().filter((n) => n.startsWith('grad.'));
      expect(expectedGrads.length).toBe(weights.size);
      const errors: Record<string, number> = {};
      for (const name of expectedGrads) {
        const param = name.slice('grad.'.length);
        errors[param] = relativeError(result.grads.get(param)!, file.readFloat32(name));
      }
      const worst = Object.entries(errors).sort((a, b) => b[1] - a[1])[0];
      console.log(`${model}: |loss - ref| = ${Math.abs(result.loss - expectedLoss).toExponential(2)}, worst gradient ${worst[0]} ${worst[1].toExponential(2)}`);
      expect(worst[1]).toBeLessThan(1e-3);
    } finally {
      file.close();
      await step.release();
    }
  });
});
