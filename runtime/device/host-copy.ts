import type ort from 'onnxruntime-node';
import { GraphBuilder } from '../graph/graph-builder.ts';
import { serializeModel } from '../graph/onnx-serialize.ts';
import { createSession } from './create-session.ts';
import type { SessionConfig } from './device-config.ts';
import type { TransferTally } from './transfer-tally.ts';

/**
 * Reads device tensors back to the host. onnxruntime-node 1.30 cannot download a 'gpu-buffer' tensor
 * itself (its download() aborts the process), so the copy is a run of an Identity graph whose outputs
 * land on the host; one session per list of ranks, float32 only.
 */
export class HostCopy {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();

  constructor(private readonly session: SessionConfig) {}

  async toHost(tensors: readonly ort.Tensor[], tally?: TransferTally): Promise<ort.Tensor[]> {
    const feeds = Object.fromEntries(tensors.map((t, i) => [`x.${i}`, t]));
    const out = await (await this.sessionFor(tensors.map((t) => t.dims.length))).run(feeds);
    tally?.count(this.session.device, feeds, out);
    return tensors.map((_, i) => out[`y.${i}`] as ort.Tensor);
  }

  async release(): Promise<void> {
    const sessions = await Promise.all(this.sessions.values());
    this.sessions.clear();
    await Promise.all(sessions.map((s) => s.release()));
  }

  private sessionFor(ranks: number[]): Promise<ort.InferenceSession> {
    const key = ranks.join(',');
    let session = this.sessions.get(key);
    if (!session) {
      const g = new GraphBuilder(`to_host_${ranks.length}`);
      ranks.forEach((rank, i) => {
        const shape = Array.from({ length: rank }, (_, d) => `x${i}_${d}`);
        g.output(g.op('Identity', [g.input(`x.${i}`, 'float32', shape)]), `y.${i}`, 'float32', shape);
      });
      session = createSession(serializeModel(g.build()), this.session);
      this.sessions.set(key, session);
    }
    return session;
  }
}
