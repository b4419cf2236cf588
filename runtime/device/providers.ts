import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { ConfigError } from '../config-error.ts';
import type { ExecutionDevice } from './device-config.ts';

/** onnxruntime's name for each device's execution provider, as its profiles and logs spell it. */
export const PROVIDER_NAMES: Record<ExecutionDevice, string> = {
  cpu: 'CPUExecutionProvider',
  webgpu: 'WebGpuExecutionProvider',
  cuda: 'CUDAExecutionProvider',
};

const INSTALL_HINTS: Record<ExecutionDevice, string> = {
  cpu: '',
  webgpu: 'this onnxruntime-node build does not bundle the WebGPU provider (1.30 on Linux x64 does); use FLAN_DEVICE=cpu',
  cuda:
    'the CUDA execution provider is not installed: install with ONNXRUNTIME_NODE_INSTALL=cuda12 on a machine with CUDA 12, or use FLAN_DEVICE=cpu',
};

/**
 * The directory of the native binding. The CUDA provider is a shared library that
 * `ONNXRUNTIME_NODE_INSTALL=cuda12` fetches into it; `listSupportedBackends()` cannot say so, since it
 * reports cuda as "not bundled" whether or not that library was installed.
 */
function bindingDir(): string {
  const main = createRequire(import.meta.url).resolve('onnxruntime-node');
  return join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/** Whether the provider's code is present. A GPU provider may still find no device: see probeDevice. */
export function providerInstalled(device: ExecutionDevice): boolean {
  switch (device) {
    case 'cpu':
      return true;
    case 'webgpu':
      return ort.listSupportedBackends().some((b) => b.name === 'webgpu' && b.bundled);
    case 'cuda':
      return existsSync(join(bindingDir(), 'libonnxruntime_providers_cuda.so'));
  }
}

export function assertProviderInstalled(device: ExecutionDevice): void {
  if (!providerInstalled(device)) throw new ConfigError(INSTALL_HINTS[device]);
}

const NO_WEBGPU_ADAPTER = /Failed to get a WebGPU adapter|No supported adapters/;

/** A session-creation failure the user can act on (no device behind an installed provider) as a ConfigError. */
export function explainSessionFailure(device: ExecutionDevice, err: unknown): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (device === 'webgpu' && NO_WEBGPU_ADAPTER.test(message)) {
    return new ConfigError(
      'no WebGPU adapter: the webgpu provider needs a Vulkan driver (a GPU vendor\'s, or Mesa\'s llvmpipe on the CPU: ' +
        'apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1), or use FLAN_DEVICE=cpu',
    );
  }
  if (device === 'cuda' && /CUDA|cuda/.test(message)) {
    return new ConfigError(`the CUDA execution provider could not start (${message.split('\n')[0]}); or use FLAN_DEVICE=cpu`);
  }
  return err;
}
