import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasShared, referenceDir } from '../helpers/shared-fixtures.ts';

const cli = fileURLToPath(new URL('../../bin/flan-serve.js', import.meta.url));
const readme = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');
/** The model `npm start` serves with no FLAN_MODEL: the embedded models/flan-mini, named after its directory. */
const DEFAULT_MODEL = 'flan-mini';

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
});
