import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { VersionStore, versionStorePath } from '../../runtime/versions/version-store.ts';
import { tinyJsonl, writeTinyModelDir } from './tiny-model-dir.ts';

const cli = fileURLToPath(new URL('../../bin/flan-serve.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'flan-ft-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const model = writeTinyModelDir(join(root, 'base'));
/** The CLI as a child process; awaited, not spawnSync, so this test's worker keeps answering vitest meanwhile. */
function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, 'finetune', ...args], { env: { ...process.env, FLAN_THREADS: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

describe('flan-serve finetune', () => {
  it('trains, prints one JSON event per line, and writes a LoRA run as an adapter directory', async () => {
    const data = join(root, 'train.jsonl');
    writeFileSync(data, tinyJsonl);
    const out = join(root, 'out');
    const r = await run(['--model', model, '--data', data, '--out', out, '--steps', '3', '--batch-size', '2', '--max-source-length', '32', '--max-target-length', '8', '--method', 'lora', '--json', '--no-progress']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number });
    expect(events.filter((e) => e.type === 'step').map((e) => e.step)).toEqual([1, 2, 3]);
    expect(events.at(-1)!.type).toBe('completed');
    // PEFT's layout, not a merged copy of the base.
    expect(existsSync(join(out, 'model', 'adapter_model.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'model', 'adapter_config.json'))).toBe(true);
    expect(existsSync(join(out, 'model', 'model.safetensors'))).toBe(false);
  });

  it('publishes into a version store that serving replicas read, and moves the base alias with --activate', async () => {
    const data = join(root, 'pub.jsonl');
    writeFileSync(data, tinyJsonl);
    const storeDir = join(root, 'store');
    const replicaView = VersionStore.open(versionStorePath(storeDir));
    replicaView.registerBase('tiny', model);
    const out = join(root, 'pub-out');
    const r = await run(['--model', model, '--data', data, '--out', out, '--steps', '2', '--batch-size', '2', '--max-source-length', '32', '--max-target-length', '8', '--no-progress', '--publish', storeDir, '--activate']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/published as ft:base:cli:pub-out \(active\)/);
    expect(replicaView.get('ft:base:cli:pub-out')).toMatchObject({ kind: 'finetuned', alias: 'tiny', modelDir: join(out, 'model') });
    expect(replicaView.resolve('tiny')?.id).toBe('ft:base:cli:pub-out');
    replicaView.close();
  });

  it('fails before training on bad lines, naming them', async () => {
    const data = join(root, 'bad.jsonl');
    writeFileSync(data, `${tinyJsonl}\n{"inputs": "no target"}`);
    const r = await run(['--model', model, '--data', data, '--out', join(root, 'bad-out'), '--steps', '3']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/1 bad line\(s\)\n {2}line 7: "targets" must be a non-empty string/);
    expect(existsSync(join(root, 'bad-out', 'trainer-state.safetensors'))).toBe(false);
  });
});
