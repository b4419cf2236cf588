import type ort from 'onnxruntime-node';
import type { Graph } from '../graph/ir.ts';
import { serializeModel } from '../graph/onnx-serialize.ts';
import { createSession } from './create-session.ts';
import type { SessionConfig } from './device-config.ts';

/**
 * Sessions of small helper graphs (moving or reading back device tensors), made on first use, one per
 * variant key, and released together.
 */
export class SmallGraphSessions {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();

  constructor(readonly config: SessionConfig) {}

  /** The session of variant `key`; `build` makes its graph the first time, `outputsOnDevice` names outputs kept on the device. */
  get(key: string, build: () => Graph, outputsOnDevice?: readonly string[]): Promise<ort.InferenceSession> {
    let session = this.sessions.get(key);
    if (!session) {
      session = createSession(serializeModel(build()), this.config, outputsOnDevice);
      // A failed creation is not kept: the next use tries again.
      session.catch(() => this.sessions.delete(key));
      this.sessions.set(key, session);
    }
    return session;
  }

  async release(): Promise<void> {
    const sessions = await Promise.allSettled(this.sessions.values());
    this.sessions.clear();
    await Promise.all(sessions.flatMap((s) => (s.status === 'fulfilled' ? [s.value.release()] : [])));
  }
}
