import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { integerGemmWeightLevels } from '../../runtime/device/integer-gemm-range.ts';
import type { DeviceProbe } from '../../runtime/device/probe-device.ts';
import { providerInstalled } from '../../runtime/device/providers.ts';

const cli = fileURLToPath(new URL('../../bin/flan-serve.js', import.meta.url));

function devices(env: NodeJS.ProcessEnv = {}): (DeviceProbe & { selected: boolean })[] {
  const run = spawnSync(process.execPath, [cli, 'devices', '--json'], { encoding: 'utf8', env: { ...process.env, ...env } });
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
}

describe('flan-serve devices', () => {
  it('lists every FLAN_DEVICE value with what this machine can run, the CPU always', async () => {
    const list = devices({ FLAN_DEVICE: 'cpu' });
    expect(list.map((d) => d.device)).toEqual(['cpu', 'webgpu', 'cuda']);
    expect(list[0]).toMatchObject({ provider: 'CPUExecutionProvider', usable: true, selected: true });
    // The CPU's integer GEMM range as the runner takes it (emulated CPUs: integer-gemm-range.test.ts).
    expect((list[0] as { integerGemmWeightLevels?: number }).integerGemmWeightLevels).toBe(await integerGemmWeightLevels());
    if (!providerInstalled('cuda')) {
      expect(list[2]).toMatchObject({ installed: false, usable: false });
      expect(list[2].reason).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    }
  });

  it('says why WebGPU cannot run where Vulkan finds no device', () => {
    // The Vulkan loader reads its drivers from this list: a missing file leaves it none.
    const [, webgpu] = devices({ VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' });
    expect(webgpu).toMatchObject({ device: 'webgpu', installed: true, usable: false });
    expect(webgpu.reason).toMatch(/no WebGPU adapter.*Vulkan driver/);
  });
});
