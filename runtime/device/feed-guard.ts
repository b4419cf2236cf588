import type ort from 'onnxruntime-node';
import { isGpuDevice, type ExecutionDevice } from './device-config.ts';

/**
 * onnxruntime's GPU providers crash the process (a segmentation fault in WebGPU on Mesa's Vulkan, not an
 * error) when a feed has a zero-sized dimension, so such a feed is refused here, as a bug of the caller.
 */
export function assertFeedsFitDevice(device: ExecutionDevice, feeds: Readonly<Record<string, ort.Tensor>>): void {
  if (!isGpuDevice(device)) return;
  for (const [name, tensor] of Object.entries(feeds)) {
    if (tensor.dims.includes(0)) {
      throw new Error(`feed "${name}" has a zero-sized dimension [${tensor.dims.join(', ')}]: the ${device} provider cannot take it`);
    }
  }
}
