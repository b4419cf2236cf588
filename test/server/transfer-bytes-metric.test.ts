import { describe, expect, it } from 'vitest';
import type { EngineStats } from '../../runtime/engine/engine-api.ts';
import { ServerMetrics } from '../../server/server-metrics.ts';

describe('flan_decode_step_transfer_bytes', () => {
  it("exposes the last decode step's host<->device bytes by direction, from the engine's latest stats", async () => {
    const engine: { stats?: EngineStats } = {};
    const metrics = new ServerMetrics(() => engine.stats);
    expect(await metrics.registry.metrics()).toContain('flan_decode_step_transfer_bytes{direction="to_device"} 0');
    engine.stats = { queued: 0, running: 2, batchSize: 32, kvCacheBytes: 1 << 20, stepToDeviceBytes: 52224, stepToHostBytes: 256, loadedModels: 1, modelBytes: 0 };
    const text = await metrics.registry.metrics();
    expect(text).toContain('flan_decode_step_transfer_bytes{direction="to_device"} 52224');
    expect(text).toContain('flan_decode_step_transfer_bytes{direction="to_host"} 256');
  });
});
