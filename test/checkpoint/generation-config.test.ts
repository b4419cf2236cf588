import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultGenerationConfig, readGenerationConfig } from '../../runtime/checkpoint/generation-config.ts';
import { parseT5Config } from '../../runtime/checkpoint/t5-config.ts';
import { expectLoadError, tempDir } from './fixture-paths.ts';

const model = parseT5Config(
  { model_type: 't5', vocab_size: 100, d_model: 8, d_kv: 2, num_heads: 4, d_ff: 16, num_layers: 2, eos_token_id: 1, decoder_start_token_id: 0 },
  'config.json',
);

describe('readGenerationConfig', () => {
  const dir = tempDir();
  const write = (json: unknown) => writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(json));

  it("falls back to the model config and HF's defaults when the file is absent", () => {
    expect(readGenerationConfig(dir, model)).toEqual({
      maxNewTokens: undefined,
      maxLength: 20,
      decoderStartTokenId: 0,
      eosTokenIds: [1],
      padTokenId: 0,
      doSample: false,
      temperature: 1,
      topK: 50,
      topP: 1,
    });
  });

  it('reads the keys it knows, eos as a number or an array, null as unset', () => {
    write({
      _from_model_config: true,
      transformers_version: '4.40.0',
      max_new_tokens: 64,
      decoder_start_token_id: 0,
      eos_token_id: [1, 7],
      pad_token_id: 0,
      do_sample: true,
      temperature: 0.7,
      top_k: 0,
      top_p: 0.9,
      max_length: null,
    });
    expect(readGenerationConfig(dir, model)).toEqual({
      ...defaultGenerationConfig(model),
      maxNewTokens: 64,
      eosTokenIds: [1, 7],
      doSample: true,
      temperature: 0.7,
      topK: 0,
      topP: 0.9,
    });
    write({ eos_token_id: 3, max_length: 128 });
    expect(readGenerationConfig(dir, model)).toMatchObject({ eosTokenIds: [3], maxLength: 128, maxNewTokens: undefined });
  });

  it('names the file and the key for bad values and bad JSON', () => {
    write({ top_p: 1.5 });
    expectLoadError(() => readGenerationConfig(dir, model), 'generation_config.json', /"top_p" must be a number in \(0, 1\], got 1.5/);
    write({ eos_token_id: [] });
    expectLoadError(() => readGenerationConfig(dir, model), 'generation_config.json', /"eos_token_id"/);
    write({ max_new_tokens: '64' });
    expectLoadError(() => readGenerationConfig(dir, model), 'generation_config.json', /"max_new_tokens" must be an integer >= 1/);
    write({ pad_token_id: 100 });
    expectLoadError(() => readGenerationConfig(dir, model), 'generation_config.json', /"pad_token_id" must be a token id below vocab_size 100/);
    write({ do_sample: 'yes' });
    expectLoadError(() => readGenerationConfig(dir, model), 'generation_config.json', /"do_sample" must be true or false/);
    writeFileSync(join(dir, 'generation_config.json'), '{ "max_new_tokens": 5, }');
    expectLoadError(() => readGenerationConfig(dir, model), 'generation_config.json', /invalid JSON/);
  });
});
