import { describe, expect, it } from 'vitest';
import { integerGemmWeightLevels } from '../../runtime/device/integer-gemm-range.ts';
import type { GraphNodePlacement } from '../../runtime/device/node-placement.ts';
import { ServerMetrics } from '../../server/server-metrics.ts';

describe('flan_graph_nodes', () => {
  it("exposes each graph's node count per execution provider, read when scraped", async () => {
    let placement: GraphNodePlacement[] = [];
    const metrics = new ServerMetrics(() => undefined, () => placement);
    expect(await metrics.registry.metrics()).not.toMatch(/^flan_graph_nodes\{/m);
    placement = [
      { graph: 't5_encoder', device: 'webgpu', nodes: { WebGpuExecutionProvider: 95, CPUExecutionProvider: 18 }, cpuFallbackOps: ['Shape'], hostCopies: 1 },
      { graph: 't5_cross_kv', device: 'webgpu', nodes: { WebGpuExecutionProvider: 18 }, cpuFallbackOps: [], hostCopies: 0 },
    ];
    const text = await metrics.registry.metrics();
    expect(text).toContain('flan_graph_nodes{graph="t5_encoder",provider="WebGpuExecutionProvider"} 95');
    expect(text).toContain('flan_graph_nodes{graph="t5_encoder",provider="CPUExecutionProvider"} 18');
    expect(text).toContain('flan_graph_nodes{graph="t5_cross_kv",provider="WebGpuExecutionProvider"} 18');
    expect(text).toContain('flan_graph_host_copies{graph="t5_encoder"} 1');
    expect(text).toContain('flan_graph_host_copies{graph="t5_cross_kv"} 0');
    placement = [];
    // A swapped-out model's graphs do not linger.
    expect(await metrics.registry.metrics()).not.toMatch(/^flan_graph_(nodes|host_copies)\{/m);
  });

  it("exposes the integer GEMM's weight range on this CPU", async () => {
    const text = await new ServerMetrics(() => undefined).registry.metrics();
    expect(text).toContain(`flan_integer_gemm_weight_levels ${await integerGemmWeightLevels()}`);
  });
});
