import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { greedyDecode } from '../../runtime/engine/greedy-decode.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { webgpuSkipReason, withoutDawnNotices } from '../helpers/device-under-test.ts';
import { hasShared, referenceDir } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';

const cli = fileURLToPath(new URL('../../bin/flan-serve.js', import.meta.url));
const readme = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');
/** The model `npm start` serves with no FLAN_MODEL: the embedded models/flan-mini, named after its directory. */
const DEFAULT_MODEL = 'flan-mini';
const noWebgpu = !hasShared || (await webgpuSkipReason()) !== undefined;

describe('the READMEs\' examples work as written', () => {
  it.each(['README.md', 'server/README.md'])('%s asks only for the model the default server has', (path) => {
    const models = [...readme(path).matchAll(/"model":\s*"([^"]+)"|\bmodel: '([^']+)'/g)].map((m) => m[1] ?? m[2])
      .filter((name) => name !== '...'); // the websocket protocol table's placeholder
    expect(models.length).toBeGreaterThan(0);
    expect(new Set(models)).toEqual(new Set([DEFAULT_MODEL]));
  });

  it.skipIf(!hasShared)("README's logits example runs on the fixture it names", () => {
    const match = /echo '([^']+)' \\\n\s*\| npx flan-serve logits --model \.\.\/shared\/fixtures\/t5-reference\/(\S+)/.exec(readme('README.md'));
    expect(match).not.toBeNull();
    const run = spawnSync(process.execPath, [cli, 'logits', '--model', `${referenceDir}/${match![2]}`], { input: match![1], encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout).logits[0][0].length).toBeGreaterThan(0);
  });

  it.skipIf(!hasShared)('logits refuses a token id outside the vocabulary with one line, not a stack trace', () => {
    const input = JSON.stringify({ input_ids: [[13959, 1566, 12, 1]], attention_mask: [[1, 1, 1, 1]], decoder_input_ids: [[0]] });
    const run = spawnSync(process.execPath, [cli, 'logits', '--model', `${referenceDir}/t5-tiny-flan-f32`], { input, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^flan-serve: "input_ids" holds 13959, outside this model's vocabulary \[0, 384\)\n$/);
  });

  async function generateExample(device: 'cpu' | 'webgpu') {
    const example = /npx flan-serve generate --model DIR --prompt "([^"]+)" --max-tokens (\d+)/.exec(readme('README.md'));
    expect(example).not.toBeNull();
    const [, prompt, maxTokens] = example!;
    const dir = makeTinyModelDir({ seed: 5 });
    const run = spawnSync(process.execPath, [cli, 'generate', '--model', dir, '--prompt', prompt, '--max-tokens', maxTokens], {
      encoding: 'utf8',
      env: { ...process.env, FLAN_DEVICE: device },
    });
    expect(withoutDawnNotices(run.stderr)).toBe('');
    expect(run.status).toBe(0);
    // The reference: greedy decoding's own loop (held to Hugging Face's greedy ids in t5-reference.test.ts) on the CPU.
    const model = loadModelDir(dir, { requireTokenizer: true });
    const runner = await T5Runner.fromWeights(model.config, model.weights, { device: 'cpu', threads: 1 });
    const ids = model.tokenizer!.encode(prompt);
    const { decoderStartTokenId, eosTokenIds, padTokenId } = model.generationConfig;
    const options = { maxNewTokens: Number(maxTokens), decoderStartTokenId, eosTokenId: eosTokenIds[0], padTokenId };
    const [sequence] = await greedyDecode(runner, [ids], [ids.map(() => 1)], options);
    await runner.release();
    expect(run.stdout).toBe(`${model.tokenizer!.decode(sequence, { skipSpecialTokens: true })}\n`);
  }

  it.skipIf(!hasShared)("README's generate example prints the reference greedy decoding's text", () => generateExample('cpu'));
  it.skipIf(noWebgpu)("README's generate example prints the same text on WebGPU", () => generateExample('webgpu'));
});
