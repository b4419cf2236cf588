import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportOnnxModel } from '../../runtime/checkpoint/onnx-export.ts';
import { loadTokenizer } from '../../runtime/checkpoint/tokenizer.ts';
import { createEngine } from '../../runtime/engine/engine-core.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';

describe.skipIf(!hasShared)('export for transformers.js and Optimum', () => {
  it.each([true, false])('transformers.js loads the export and generates our greedy tokens (gated: %s)', async (gated) => {
    const modelDir = makeTinyModelDir({ seed: 3, gated });
    const out = join(mkdtempSync(join(tmpdir(), 'flan-export-')), 'model');
    exportOnnxModel(modelDir, out);
    for (const file of ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx', 'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }

    const prompts = ['translate English to German: How old are you?', 'Q: What is 2 + 3? A:'];
    const tf = await import('@huggingface/transformers');
    tf.env.allowRemoteModels = false;
    tf.env.localModelPath = `${dirname(out)}/`;
    const tokenizer = await tf.AutoTokenizer.from_pretrained(basename(out));
    const model = await tf.AutoModelForSeq2SeqLM.from_pretrained(basename(out), { dtype: 'fp32', device: 'cpu' });
    const engine = await createEngine({ modelDir, session: { device: 'cpu', threads: 1 } });
    try {
      for (const prompt of prompts) {
        const output = (await model.generate({ ...tokenizer(prompt), max_new_tokens: 12, do_sample: false })) as { tolist(): bigint[][] };
        const theirs = output.tolist()[0].slice(1).map(Number); // drop the decoder start token
        const ours: number[] = [];
        for await (const e of engine.generate({ prompt, sampling: { maxTokens: 12 } })) if (e.type === 'token') ours.push(e.tokenId);
        expect(ours).toEqual(theirs.slice(0, ours.length));
        expect(ours.length).toBeGreaterThan(0);
        expect(tokenizer.decode(theirs, { skip_special_tokens: true })).toBe(loadTokenizer(modelDir).decode(ours));
      }
    } finally {
      await engine.close();
      await model.dispose();
    }
  });
});
