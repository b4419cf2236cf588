import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { TiktokenTokenizer } from '../../runtime/checkpoint/tiktoken-tokenizer.ts';
import { expectLoadError, f32Dir, hasFixtures, t5TokenizerDir, tempDir, tiedDir } from './fixture-paths.ts';
import { MERGE_RANK, writeTinyTiktokenTokenizer } from './tiny-tiktoken.ts';

describe.skipIf(!hasFixtures)('loadModelDir', () => {
  const root = tempDir();
  const tiktokenDir = join(root, 'tiktoken');
  mkdirSync(tiktokenDir);
  writeTinyTiktokenTokenizer(tiktokenDir);

  it('loads config, weights and generation defaults; the tokenizer only when there is one', () => {
    const model = loadModelDir(tiedDir);
    expect(model.dir).toBe(tiedDir);
    expect(model.config.tieWordEmbeddings).toBe(true);
    expect(model.weights.size).toBe(47);
    expect(model.generationConfig.eosTokenIds).toEqual([1]);
    expect(model.tokenizer).toBeUndefined();
    expectLoadError(() => loadModelDir(tiedDir, { requireTokenizer: true }), 'tokenizer.json', /no tokenizer found/);
  });

  it('takes the tokenizer from tokenizerDir and checks it against the config', () => {
    const model = loadModelDir(f32Dir, { tokenizerDir: tiktokenDir });
    expect(model.tokenizer).toBeInstanceOf(TiktokenTokenizer);
    // The real T5 vocabulary has 32100 tokens; the tiny model's embedding only 384 rows.
    expectLoadError(
      () => loadModelDir(f32Dir, { tokenizerDir: t5TokenizerDir }),
      'tokenizer.json',
      /tokenizer does not match config.json: 32100 tokens but the model has vocab_size 384/,
    );
  });

  it('finds a tokenizer beside the weights and the generation config', () => {
    const dir = join(root, 'complete');
    mkdirSync(dir);
    for (const file of ['config.json', 'model.safetensors']) copyFileSync(join(f32Dir, file), join(dir, file));
    writeTinyTiktokenTokenizer(dir);
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ max_new_tokens: 32 }));
    const model = loadModelDir(dir);
    expect(model.tokenizer?.encode('the')).toEqual([MERGE_RANK.the, 1]);
    expect(model.generationConfig.maxNewTokens).toBe(32);
  });

  it('names each missing piece', () => {
    expectLoadError(() => loadModelDir(join(root, 'absent')), 'absent', /model directory not found/);
    const file = join(root, 'file');
    writeFileSync(file, '');
    expectLoadError(() => loadModelDir(file), 'file', /not a directory/);
    const noConfig = join(root, 'no-config');
    mkdirSync(noConfig);
    expectLoadError(() => loadModelDir(noConfig), 'config.json', /not found/);
    const noWeights = join(root, 'no-weights');
    mkdirSync(noWeights);
    copyFileSync(join(f32Dir, 'config.json'), join(noWeights, 'config.json'));
    expectLoadError(() => loadModelDir(noWeights), 'model.safetensors', /no model.safetensors or model.safetensors.index.json/);
    const unknownArch = join(root, 'bart');
    mkdirSync(unknownArch);
    writeFileSync(join(unknownArch, 'config.json'), JSON.stringify({ model_type: 'bart', architectures: ['BartForConditionalGeneration'] }));
    expectLoadError(() => loadModelDir(unknownArch), 'config.json', /"model_type" is "bart"/);
  });
});
