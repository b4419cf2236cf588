import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasShared, referenceDir } from '../helpers/shared-fixtures.ts';

const cli = fileURLToPath(new URL('../../bin/flan-serve.js', import.meta.url));
const stdin = JSON.stringify({ input_ids: [[5, 6, 1]], attention_mask: [[1, 1, 1]], decoder_input_ids: [[0, 5]] });

/** A copy of the F32 reference model that a case then breaks. */
function brokenCopy(breakIt: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'flan-bad-model-'));
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(referenceDir, 't5-tiny-flan-f32', f), join(dir, f));
  breakIt(dir);
  return dir;
}

function runLogits(dir: string) {
  return spawnSync(process.execPath, [cli, 'logits', '--model', dir], { input: stdin, encoding: 'utf8' });
}

describe.skipIf(!hasShared)('a bad model directory fails with one line naming the file and the problem', () => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    ['missing config.json', (d) => rmSync(join(d, 'config.json')), /config\.json/],
    ['missing weights', (d) => rmSync(join(d, 'model.safetensors')), /model\.safetensors/],
    [
      'unknown architecture',
      (d) => {
        const config = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
        writeFileSync(join(d, 'config.json'), JSON.stringify({ ...config, model_type: 'llama', architectures: ['LlamaForCausalLM'] }));
      },
      /config\.json.*(llama|architecture|model_type)/i,
    ],
    [
      'truncated safetensors',
      (d) => {
        const bytes = readFileSync(join(d, 'model.safetensors'));
        writeFileSync(join(d, 'model.safetensors'), bytes.subarray(0, bytes.length - 1000));
      },
      /model\.safetensors.*(truncat|beyond|end|short|size)/i,
    ],
    [
      'wrong shapes',
      (d) => {
        const config = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
        writeFileSync(join(d, 'config.json'), JSON.stringify({ ...config, d_ff: 64 }));
      },
      /model\.safetensors.*DenseReluDense.*\[/,
    ],
    ['not JSON config', (d) => writeFileSync(join(d, 'config.json'), '{ "d_model": 48,'), /config\.json.*JSON/i],
  ];

  it.each(cases)('%s', (_name, breakIt, message) => {
    const run = runLogits(brokenCopy(breakIt));
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^flan-serve: /);
    expect(lines[0]).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a directory that does not exist', () => {
    const run = runLogits('/nonexistent/model');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^flan-serve: .*not found/);
  });

  it('bad stdin is a usage error, not a crash', () => {
    const run = spawnSync(process.execPath, [cli, 'logits', '--model', join(referenceDir, 't5-tiny-flan-f32')], { input: '{"input_ids": [[1,2],[3]]}', encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^flan-serve: "input_ids" must be/);
  });

  it('asking for CUDA where the provider is not installed says what to do', () => {
    const run = spawnSync(process.execPath, [cli, 'logits', '--model', join(referenceDir, 't5-tiny-flan-f32')], {
      input: stdin,
      encoding: 'utf8',
      env: { ...process.env, FLAN_DEVICE: 'cuda' },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^flan-serve: the CUDA execution provider is not installed/);
  });
});
