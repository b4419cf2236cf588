import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTraining, type TrainingSpec } from '../../finetune/jobs/training-run.ts';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { exportOnnxModel } from '../../runtime/checkpoint/onnx-export.ts';
import { SafetensorsFile } from '../../runtime/checkpoint/safetensors.ts';
import { createEngine } from '../../runtime/engine/engine-core.ts';
import { tinyJsonl, writeTinyModelDir } from '../finetune/tiny-model-dir.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';

/**
 * A Flan-T5 (own lm_head, no output scaling) loaded and saved again by transformers 5.x: the weights
 * are unchanged, but config.json now says `"tie_word_embeddings": true` beside
 * `"scale_decoder_outputs": false`, as 5.x writes for every T5 (see ../shared/fixtures/t5-hf5). Every
 * path that reads a model must give the same results for both directories.
 */
const root = mkdtempSync(join(tmpdir(), 'flan-hf5-resave-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const original = writeTinyModelDir(join(root, 'original'), 5);
const resaved = resaveAsTransformers5(original, join(root, 'resaved'));

function resaveAsTransformers5(from: string, to: string): string {
  cpSync(from, to, { recursive: true });
  const config = JSON.parse(readFileSync(join(from, 'config.json'), 'utf8')) as Record<string, unknown>;
  expect(config.tie_word_embeddings).toBe(false);
  const { scale_decoder_outputs: _dropped, ...rest } = config;
  writeFileSync(join(to, 'config.json'), JSON.stringify({ ...rest, tie_word_embeddings: true, scale_decoder_outputs: false, transformers_version: '5.18.0' }));
  return to;
}

describe('a Flan-T5 re-saved through the transformers 5.x layout', () => {
  it('loads with its own head and unscaled output', () => {
    const model = loadModelDir(resaved);
    expect(model.config).toMatchObject({ tieWordEmbeddings: false, scaleDecoderOutputs: false });
    expect(model.weights.get('lm_head.weight')!.data).toEqual(loadModelDir(original).weights.get('lm_head.weight')!.data);
  });

  it('serves the same tokens and log-probabilities as the original', async () => {
    const generate = async (modelDir: string) => {
      const engine = await createEngine({ modelDir, session: { device: 'cpu', threads: 1 } });
      try {
        const out: Array<[number, number]> = [];
        for await (const e of engine.generate({ prompt: 'color of the sky', sampling: { maxTokens: 6, logprobs: 1 } })) {
          if (e.type === 'token') out.push([e.tokenId, e.logprob!]);
        }
        return out;
      } finally {
        await engine.close();
      }
    };
    const theirs = await generate(original);
    const ours = await generate(resaved);
    expect(ours.map(([id]) => id)).toEqual(theirs.map(([id]) => id));
    ours.forEach(([, logprob], i) => expect(logprob).toBeCloseTo(theirs[i][1], 5));
  });

  it('finetunes with the same losses and writes a model that keeps its own head', async () => {
    const trainingFile = join(root, 'train.jsonl');
    writeFileSync(trainingFile, tinyJsonl);
    const spec = (baseModelDir: string): TrainingSpec => ({
      baseModelDir,
      trainingFile,
      method: { kind: 'full' },
      optimizer: { kind: 'adafactor', lr: 1e-2 },
      steps: 2,
      batch: { batchSize: 2, microBatches: 1, packed: false, maxSourceLength: 32, maxTargetLength: 8, templates: { fewShotRate: 0 } },
      seed: 3,
      heldOutFraction: 0,
      checkpointEvery: 2,
    });
    const run = async (baseModelDir: string, workDir: string) => {
      const losses: number[] = [];
      const result = await runTraining(spec(baseModelDir), workDir, (e) => e.type === 'step' && losses.push(e.loss));
      return { losses, modelDir: result.modelDir };
    };
    const theirs = await run(original, join(root, 'ft-original'));
    const ours = await run(resaved, join(root, 'ft-resaved'));
    ours.losses.forEach((loss, i) => expect(loss).toBeCloseTo(theirs.losses[i], 6));
    const written = JSON.parse(readFileSync(join(ours.modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(written).toMatchObject({ tie_word_embeddings: false, scale_decoder_outputs: false });
    const file = SafetensorsFile.open(join(ours.modelDir, 'model.safetensors'));
    try {
      expect(file.has('lm_head.weight')).toBe(true);
    } finally {
      file.close();
    }
    expect(loadModelDir(ours.modelDir).weights).toEqual(loadModelDir(theirs.modelDir).weights);
  });

  // The export needs a tokenizer.json: the real T5 vocabulary from ../shared.
  it.skipIf(!hasShared)('exports the same ONNX graphs, with a config that transformers 4.x and 5.x both read as untied and unscaled', () => {
    const withTokenizer = makeTinyModelDir({ seed: 4 });
    const exported = (modelDir: string, name: string) => {
      const out = join(root, name);
      exportOnnxModel(modelDir, out);
      return out;
    };
    const theirs = exported(withTokenizer, 'export-original');
    const ours = exported(resaveAsTransformers5(withTokenizer, join(root, 'resaved-with-tokenizer')), 'export-resaved');
    for (const file of ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx']) {
      expect(readFileSync(join(ours, file)).equals(readFileSync(join(theirs, file))), file).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(ours, 'config.json'), 'utf8'))).toMatchObject({ tie_word_embeddings: false, scale_decoder_outputs: false });
  });
});
