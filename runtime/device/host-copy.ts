import type ort from 'onnxruntime-node';
import { GraphBuilder } from '../graph/graph-builder.ts';
import type { Graph } from '../graph/ir.ts';
import type { SessionConfig } from './device-config.ts';
import { nativeCall } from './native-calls.ts';
import { SmallGraphSessions } from './small-graph-sessions.ts';
import type { TransferTally } from './transfer-tally.ts';

/**
 * Reads device tensors back to the host. onnxruntime-node 1.30 cannot download a 'gpu-buffer' tensor
 * itself (its download() aborts the process), so the copy is a run of an Identity graph whose outputs
 * land on the host; one session per list of ranks, float32 only.
 */
export class HostCopy {
  private readonly sessions: SmallGraphSessions;

  constructor(session: SessionConfig) {
    this.sessions = new SmallGraphSessions(session);
  }

  async toHost(tensors: readonly ort.Tensor[], tally?: TransferTally): Promise<ort.Tensor[]> {
    const ranks = tensors.map((t) => t.dims.length);
    const feeds = Object.fromEntries(tensors.map((t, i) => [`x.${i}`, t]));
    const session = await this.sessions.get(ranks.join(','), () => identityGraph(ranks));
    const out = await nativeCall(() => session.run(feeds));
    tally?.count(this.sessions.config.device, feeds, out);
    return tensors.map((_, i) => out[`y.${i}`] as ort.Tensor);
  }

  release(): Promise<void> {
    return this.sessions.release();
  }
}

/** y.i = x.i for float32 tensors of the given ranks. */
function identityGraph(ranks: number[]): Graph {
  const g = new GraphBuilder(`to_host_${ranks.length}`);
  ranks.forEach((rank, i) => {
    const shape = Array.from({ length: rank }, (_, d) => `x${i}_${d}`);
    g.output(g.op('Identity', [g.input(`x.${i}`, 'float32', shape)]), `y.${i}`, 'float32', shape);
  });
  return g.build();
}
