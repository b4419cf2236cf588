import { createHash } from 'node:crypto';
import ort from 'onnxruntime-node';
import { GraphBuilder } from '../graph/graph-builder.ts';
import { attr } from '../graph/ir.ts';
import { serializeModel } from '../graph/onnx-serialize.ts';
import { SeededRandom } from '../seeded-random.ts';
import { createSession } from './create-session.ts';

/**
 * The bits of a fixed float computation on onnxruntime's CPU kernels at `threads` threads, hashed: the
 * operations a train step leans on (a GEMM, a long reduction, softmax's exponentials), whose rounding
 * depends on the kernels MLAS dispatches to on this CPU (SSE, AVX2, AVX-512: three different values
 * under qemu-user and here). Two processes that disagree on it do not compute a train step alike, so a
 * job resumed on another machine class (a Kubernetes pod rescheduled) can say that it will not end bit
 * for bit where an unbroken run would. Agreement is likely, not proven, to mean the same arithmetic.
 */
export async function cpuKernelFingerprint(threads: number): Promise<string> {
  const rows = 16;
  const K = 512;
  const random = SeededRandom.fromSeed(7);
  const g = new GraphBuilder('kernel_fingerprint');
  const x = g.input('x', 'float32', [rows, K]);
  const w = g.initializer('w', { dtype: 'float32', shape: [K, K], data: Float32Array.from({ length: K * K }, () => random.normal() * 0.05) });
  const product = g.matmul(x, w);
  g.output(g.op('Softmax', [product], { axis: attr.int(-1) }), 'softmax', 'float32', [rows, K]);
  g.output(g.op('ReduceSum', [g.mul(product, product), g.constInt64([-1])], { keepdims: attr.int(0) }), 'sum', 'float32', [rows]);
  const session = await createSession(serializeModel(g.build()), { device: 'cpu', threads });
  try {
    const input = Float32Array.from({ length: rows * K }, () => random.normal());
    const out = await session.run({ x: new ort.Tensor('float32', input, [rows, K]) });
    const hash = createHash('sha256');
    for (const name of ['softmax', 'sum']) hash.update(new Uint8Array((out[name].data as Float32Array).buffer));
    return hash.digest('hex').slice(0, 16);
  } finally {
    await session.release();
  }
}
