import type ort from 'onnxruntime-node';
import { isGpuDevice, type ExecutionDevice } from './device-config.ts';

/**
 * Bytes copied between the host and a GPU device by the runs counted into it: a feed whose location is
 * 'cpu' crosses to the device, an output that comes back as 'cpu' crosses to the host. Tensors that stay
 * on the device ('gpu-buffer') cross nothing; on the CPU device nothing crosses at all.
 */
export class TransferTally {
  toDevice = 0;
  toHost = 0;

  count(device: ExecutionDevice, feeds: Readonly<Record<string, ort.Tensor>>, outputs: Readonly<Record<string, ort.OnnxValue>>): void {
    if (!isGpuDevice(device)) return;
    this.toDevice += hostBytes(Object.values(feeds));
    this.toHost += hostBytes(Object.values(outputs) as ort.Tensor[]);
  }

  add(other: TransferTally): void {
    this.toDevice += other.toDevice;
    this.toHost += other.toHost;
  }
}

/** Bytes of the tensors held on the host (location 'cpu'). */
export function hostBytes(tensors: readonly ort.Tensor[]): number {
  return tensors.reduce((sum, t) => sum + (t.location === 'cpu' ? (t.data as ArrayBufferView).byteLength : 0), 0);
}
