import ort from 'onnxruntime-node';
import { GraphBuilder } from '../graph/graph-builder.ts';
import { serializeModel } from '../graph/onnx-serialize.ts';
import { createMeasuredSession } from './create-session.ts';
import type { ExecutionDevice } from './device-config.ts';
import { PROVIDER_NAMES, providerInstalled } from './providers.ts';

export interface DeviceProbe {
  device: ExecutionDevice;
  provider: string;
  /** The provider's code is present in this onnxruntime-node install. */
  installed: boolean;
  /** A MatMul ran on the provider itself and gave the right answer. */
  usable: boolean;
  /** Why it is not usable, in words a user can act on. */
  reason?: string;
}

/**
 * Whether this machine can run graphs on `device`: builds a 2x2 MatMul, runs it there and checks both the
 * answer and that the provider, not a CPU fall-back, ran it.
 */
export async function probeDevice(device: ExecutionDevice): Promise<DeviceProbe> {
  const base = { device, provider: PROVIDER_NAMES[device], installed: providerInstalled(device) };
  const g = new GraphBuilder('device_probe');
  const a = g.input('a', 'float32', [2, 2]);
  const b = g.initializer('b', { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) });
  g.output(g.matmul(a, b), 'c', 'float32', [2, 2]);
  try {
    const { session, placement } = await createMeasuredSession(serializeModel(g.build()), { device, threads: 1 }, 'device_probe');
    try {
      const out = await session.run({ a: new ort.Tensor('float32', Float32Array.from([1, 0, 0, 1]), [2, 2]) });
      const c = Array.from(out.c.data as Float32Array);
      if (c.join() !== '1,2,3,4') return { ...base, usable: false, reason: `a MatMul gave [${c.join(', ')}], not [1, 2, 3, 4]` };
      if (!placement.nodes[base.provider]) return { ...base, usable: false, reason: `the MatMul fell back to ${Object.keys(placement.nodes).join(', ')}` };
      return { ...base, usable: true };
    } finally {
      await session.release();
    }
  } catch (err) {
    return { ...base, usable: false, reason: (err as Error).message.split('\n')[0] };
  }
}
