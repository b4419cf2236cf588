import { sessionConfigFromEnv } from '../../runtime/device/device-config.ts';
import { probeDevice } from '../../runtime/device/probe-device.ts';

/**
 * The device the conformance and device suites run on: FLAN_DEVICE (cpu by default; .ci/run adds a
 * webgpu pass). Where that device cannot run here, its tests skip with the reason.
 */
export const deviceUnderTest = sessionConfigFromEnv().device;
const probe = deviceUnderTest === 'cpu' ? undefined : await probeDevice(deviceUnderTest);
export const deviceSkipReason = probe && !probe.usable ? `FLAN_DEVICE=${deviceUnderTest} cannot run here: ${probe.reason}` : undefined;

if (deviceSkipReason) console.warn(`[flan-serve tests] ${deviceSkipReason}; its tests are skipped.`);

/** Why WebGPU cannot run here (undefined where it can), for the tests that compare it with the CPU on any pass. */
export async function webgpuSkipReason(): Promise<string | undefined> {
  const webgpu = deviceUnderTest === 'webgpu' ? probe! : await probeDevice('webgpu');
  if (webgpu.usable) return undefined;
  const reason = `no usable WebGPU (Vulkan) device: ${webgpu.reason}`;
  console.warn(`[flan-serve tests] ${reason}; the WebGPU tests are skipped.`);
  return reason;
}

/** Dawn prints notices about its limits on stderr whenever it starts; they are not our errors. */
export function withoutDawnNotices(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !/^Warning: .* artificially reduced/.test(line))
    .join('\n');
}
