import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseT5Config, readT5Config, t5ConfigToJson } from '../../runtime/checkpoint/t5-config.ts';
import { bf16Dir, expectLoadError, f32Dir, hasFixtures, tempDir, tiedDir } from './fixture-paths.ts';

const minimal = { model_type: 't5', vocab_size: 100, d_model: 8, d_kv: 2, num_heads: 4, d_ff: 16, num_layers: 2 };

describe.skipIf(!hasFixtures)('readT5Config on the reference fixtures', () => {
  it('reads the Flan (v1.1, gated-gelu, untied) checkpoints', () => {
    for (const dir of [f32Dir, bf16Dir]) {
      expect(readT5Config(dir)).toEqual({
        modelType: 't5',
        vocabSize: 384,
        dModel: 48,
        dKv: 12,
        numHeads: 4,
        dFf: 96,
        numLayers: 2,
        numDecoderLayers: 3,
        relativeAttentionNumBuckets: 32,
        relativeAttentionMaxDistance: 128,
        layerNormEpsilon: 1e-6,
        feedForwardProj: 'gated-gelu',
        activation: 'gelu_new',
        isGated: true,
        tieWordEmbeddings: false,
        scaleDecoderOutputs: false,
        padTokenId: 0,
        eosTokenId: 1,
        decoderStartTokenId: 0,
      });
    }
  });

  it('reads the v1.0 (relu, tied) checkpoint', () => {
    const config = readT5Config(tiedDir);
    expect(config).toMatchObject({
      activation: 'relu',
      isGated: false,
      tieWordEmbeddings: true,
      scaleDecoderOutputs: true,
      numDecoderLayers: 2,
      relativeAttentionNumBuckets: 16,
      relativeAttentionMaxDistance: 20,
    });
  });

  it('round-trips through t5ConfigToJson', () => {
    for (const dir of [f32Dir, tiedDir]) {
      const config = readT5Config(dir);
      expect(parseT5Config(t5ConfigToJson(config), 'config.json')).toEqual(config);
    }
  });
});

describe('parseT5Config', () => {
  it("applies Hugging Face's defaults", () => {
    const config = parseT5Config({ ...minimal, pad_token_id: 3 }, 'config.json');
    expect(config).toMatchObject({
      numDecoderLayers: 2,
      relativeAttentionNumBuckets: 32,
      relativeAttentionMaxDistance: 128,
      layerNormEpsilon: 1e-6,
      feedForwardProj: 'relu',
      activation: 'relu',
      isGated: false,
      tieWordEmbeddings: true,
      scaleDecoderOutputs: true,
      eosTokenId: 1,
      decoderStartTokenId: 3, // defaults to the pad id
    });
  });

  it('reads scale_decoder_outputs as transformers 5.18 does, defaulting it from tie_word_embeddings as 4.x meant it', () => {
    // T5Config.from_dict in transformers 5.18 gives these scale_decoder_outputs for these keys.
    const scale = (extra: object) => parseT5Config({ ...minimal, ...extra }, 'config.json').scaleDecoderOutputs;
    expect(scale({})).toBe(true);
    expect(scale({ tie_word_embeddings: false })).toBe(false);
    expect(scale({ tie_word_embeddings: true })).toBe(true);
    expect(scale({ tie_word_embeddings: true, scale_decoder_outputs: false })).toBe(false);
    expect(scale({ tie_word_embeddings: false, scale_decoder_outputs: true })).toBe(true);
    expect(() => scale({ scale_decoder_outputs: 'no' })).toThrow(/"scale_decoder_outputs"/);
  });

  it('derives activation and gating from feed_forward_proj, dense_act_fn overriding', () => {
    const parse = (extra: object) => parseT5Config({ ...minimal, ...extra }, 'config.json');
    expect(parse({ feed_forward_proj: 'gated-gelu' })).toMatchObject({ activation: 'gelu_new', isGated: true });
    expect(parse({ feed_forward_proj: 'gated-relu' })).toMatchObject({ activation: 'relu', isGated: true });
    expect(parse({ feed_forward_proj: 'gelu' })).toMatchObject({ activation: 'gelu', isGated: false });
    expect(parse({ feed_forward_proj: 'gated-gelu', dense_act_fn: 'gelu' })).toMatchObject({ activation: 'gelu' });
    expect(parse({ feed_forward_proj: 'gated-gelu', dense_act_fn: 'gelu_pytorch_tanh' })).toMatchObject({
      activation: 'gelu_new',
    });
  });

  it('rejects other architectures, naming config.json and the key', () => {
    expectLoadError(() => parseT5Config({ ...minimal, model_type: 'bart' }, '/m/config.json'), 'config.json', /model_type.*bart/);
    expectLoadError(
      () => parseT5Config({ ...minimal, architectures: ['T5EncoderModel'] }, '/m/config.json'),
      'config.json',
      /architectures.*T5EncoderModel/,
    );
    expectLoadError(
      () => parseT5Config({ ...minimal, feed_forward_proj: 'gated-silu' }, '/m/config.json'),
      'config.json',
      /feed_forward_proj.*silu.*not supported/,
    );
    expectLoadError(
      () => parseT5Config({ ...minimal, feed_forward_proj: 'relu-gated' }, '/m/config.json'),
      'config.json',
      /feed_forward_proj/,
    );
  });

  it('rejects missing and invalid keys, naming the key', () => {
    const { d_model: _dropped, ...withoutDModel } = minimal;
    expectLoadError(() => parseT5Config(withoutDModel, '/m/config.json'), 'config.json', /"d_model" is missing/);
    expectLoadError(() => parseT5Config({ ...minimal, num_heads: 2.5 }, '/m/config.json'), 'config.json', /"num_heads"/);
    expectLoadError(() => parseT5Config({ ...minimal, eos_token_id: 100 }, '/m/config.json'), 'config.json', /"eos_token_id"/);
    expectLoadError(
      () => parseT5Config({ ...minimal, tie_word_embeddings: 'yes' }, '/m/config.json'),
      'config.json',
      /"tie_word_embeddings"/,
    );
    expectLoadError(() => parseT5Config([], '/m/config.json'), 'config.json', /JSON object/);
  });
});

describe('readT5Config errors', () => {
  const dir = tempDir();

  it('names config.json when it is missing', () => {
    expectLoadError(() => readT5Config(dir), 'config.json', /not found/);
  });

  it('names config.json when it is not JSON', () => {
    writeFileSync(join(dir, 'config.json'), '{"model_type": "t5",');
    expectLoadError(() => readT5Config(dir), 'config.json', /invalid JSON/);
  });
});
