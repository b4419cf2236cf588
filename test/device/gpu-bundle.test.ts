import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { webgpuSkipReason, withoutDawnNotices } from '../helpers/device-under-test.ts';
import '../helpers/temp-root.ts';

/**
 * The device benchmark as a lent GPU machine gets it: bench/device/bundle.sh's bundle run by node from
 * its own folder, with only the packages the bundle carries beside it and no project around it. A native
 * dependency the bundle swallowed (koffi did: "Cannot find the native Koffi module") fails here, not in
 * the one call a lent machine allows.
 */
const run = promisify(execFile);
const repo = new URL('../../', import.meta.url).pathname;
const noWebgpu = (await webgpuSkipReason()) !== undefined;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gpu-bundle-'));
  await run('bash', [join(repo, 'bench/device/bundle.sh'), dir], { cwd: repo, timeout: 120_000 });
}, 150_000);

async function decodeFromBundle(device: string): Promise<Record<string, unknown>[]> {
  const { stdout, stderr } = await run(process.execPath, ['gpu-decode.mjs', '--shapes', 'tiny', '--batches', '1,3', '--new-tokens', '4'], {
    cwd: dir,
    env: { PATH: process.env.PATH, FLAN_DEVICE: device, FLAN_THREADS: '1' },
    timeout: 120_000,
  });
  expect(withoutDawnNotices(stderr)).not.toMatch(/Error/);
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('bench/device bundle', () => {
  it('decodes every batch on the CPU from its own folder', async () => {
    const records = await decodeFromBundle('cpu');
    const decodes = records.filter((r) => r.kind === 'decode');
    expect(decodes.map((r) => [r.batch, r.tokens])).toEqual([
      [1, 4],
      [3, 12],
    ]);
    for (const r of decodes) expect(r.tokensPerSecond).toBeGreaterThan(0);
  }, 120_000);

  it.skipIf(noWebgpu)('decodes on WebGPU with the carried onnxruntime, every graph placed on it', async () => {
    const records = await decodeFromBundle('webgpu');
    const load = records.find((r) => r.kind === 'load') as { nodePlacement: { graph: string; nodes: Record<string, number> }[] };
    for (const graph of load.nodePlacement) expect(graph.nodes.WebGpuExecutionProvider, graph.graph).toBeGreaterThan(0);
    expect(records.filter((r) => r.kind === 'decode').map((r) => r.device)).toEqual(['webgpu', 'webgpu']);
  }, 120_000);

  it('writes the Hugging Face peer its configs', async () => {
    const configs = join(dir, 'configs');
    await run(process.execPath, ['gpu-decode.mjs', '--write-configs', configs], { cwd: dir, env: { PATH: process.env.PATH }, timeout: 60_000 });
    const base = JSON.parse(readFileSync(join(configs, 'base.json'), 'utf8')) as { d_model: number; num_layers: number };
    expect([base.d_model, base.num_layers]).toEqual([768, 12]);
  }, 60_000);
});
