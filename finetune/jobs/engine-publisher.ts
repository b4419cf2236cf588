import { loadServedModel, type T5Engine } from '../../runtime/engine/t5-engine.ts';
import type { SessionConfig } from '../../runtime/onnx-session.ts';
import type { ModelPublisher, PublishedModel } from './job-manager.ts';

/**
 * Hot-swaps finished versions into one running engine: the new directory is loaded completely
 * (config, tokenizer, weights, sessions) before the swap, so a version that fails to load throws here
 * and the engine keeps serving the old weights. Requests in flight finish on the weights they began
 * with; new ones use the new version.
 */
export class EnginePublisher implements ModelPublisher {
  constructor(
    private readonly engine: T5Engine,
    private readonly session?: SessionConfig,
  ) {}

  async publish(version: PublishedModel): Promise<void> {
    const next = await loadServedModel({ modelDir: version.modelDir, modelId: version.id, ...(this.session ? { session: this.session } : {}) });
    this.engine.swapModel(next);
  }
}
