import ort from 'onnxruntime-node';
import { GraphBuilder } from '../graph/graph-builder.ts';
import type { Graph } from '../graph/ir.ts';
import type { SessionConfig } from './device-config.ts';
import { nativeCall } from './native-calls.ts';
import { SmallGraphSessions } from './small-graph-sessions.ts';
import type { TransferTally } from './transfer-tally.ts';

/**
 * Copies float32 tensors between the host and the device through small graphs (Identity, or Gather for
 * some rows), one session per kind and list of ranks. onnxruntime-node 1.30 can neither download a
 * 'gpu-buffer' tensor itself (its download() aborts the process) nor make one from host data: a tensor
 * lands on the device only as the output of a session told to keep it there.
 */
export class TensorCopy {
  private readonly sessions: SmallGraphSessions;

  constructor(session: SessionConfig) {
    this.sessions = new SmallGraphSessions(session);
  }

  /** Device tensors read back to the host. */
  toHost(tensors: readonly ort.Tensor[], tally?: TransferTally): Promise<ort.Tensor[]> {
    return this.copy('host', tensors, tally);
  }

  /** Rows `rows` (first axis, in that order) of a device tensor, read back; the rest stays. */
  async rowsToHost(tensor: ort.Tensor, rows: readonly number[], tally?: TransferTally): Promise<ort.Tensor> {
    const rank = tensor.dims.length;
    const feeds = { x: tensor, rows: new ort.Tensor('int64', BigInt64Array.from(rows, BigInt), [rows.length]) };
    const session = await this.sessions.get(`rows:${rank}`, () => rowsGraph(rank));
    const out = await nativeCall(() => session.run(feeds));
    tally?.count(this.sessions.config.device, feeds, out);
    return out.y as ort.Tensor;
  }

  /** Device tensors moved to the host: read back, then freed on the device (also when the copy fails). */
  async moveToHost(tensors: readonly ort.Tensor[], tally?: TransferTally): Promise<ort.Tensor[]> {
    try {
      return await this.toHost(tensors, tally);
    } finally {
      for (const t of tensors) t.dispose();
    }
  }

  /** Host tensors copied to the device, where they stay until disposed. */
  toDevice(tensors: readonly ort.Tensor[], tally?: TransferTally): Promise<ort.Tensor[]> {
    return this.copy('device', tensors, tally);
  }

  release(): Promise<void> {
    return this.sessions.release();
  }

  private async copy(to: 'host' | 'device', tensors: readonly ort.Tensor[], tally?: TransferTally): Promise<ort.Tensor[]> {
    const ranks = tensors.map((t) => t.dims.length);
    const feeds = Object.fromEntries(tensors.map((t, i) => [`x.${i}`, t]));
    const outputs = tensors.map((_, i) => `y.${i}`);
    const session = await this.sessions.get(`${to}:${ranks.join(',')}`, () => identityGraph(to, ranks), to === 'device' ? outputs : []);
    const out = await nativeCall(() => session.run(feeds));
    tally?.count(this.sessions.config.device, feeds, out);
    return outputs.map((name) => out[name] as ort.Tensor);
  }
}

/** y = the rows of float32 x (of this rank) at int64 `rows`, gathered on the device. */
function rowsGraph(rank: number): Graph {
  const g = new GraphBuilder(`rows_to_host_${rank}`);
  const shape = Array.from({ length: rank }, (_, d) => `x_${d}`);
  const x = g.input('x', 'float32', shape);
  g.output(g.gather(x, g.input('rows', 'int64', ['r']), 0), 'y', 'float32', ['r', ...shape.slice(1)]);
  return g.build();
}

/** y.i = x.i for float32 tensors of the given ranks. */
function identityGraph(to: 'host' | 'device', ranks: number[]): Graph {
  const g = new GraphBuilder(`to_${to}_${ranks.length}`);
  ranks.forEach((rank, i) => {
    const shape = Array.from({ length: rank }, (_, d) => `x${i}_${d}`);
    g.output(g.op('Identity', [g.input(`x.${i}`, 'float32', shape)]), `y.${i}`, 'float32', shape);
  });
  return g.build();
}
