import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import type { ExecutionDevice } from './device-config.ts';
import { nativeCall } from './native-calls.ts';
import { PROVIDER_NAMES } from './providers.ts';

/** Which execution provider runs how many nodes of one graph, after onnxruntime's optimizations. */
export interface GraphNodePlacement {
  graph: string;
  device: ExecutionDevice;
  /** Nodes per provider, by onnxruntime's provider name (e.g. WebGpuExecutionProvider). */
  nodes: Record<string, number>;
  /** Op types of the nodes left to the CPU when another device was asked for; empty on the CPU. */
  cpuFallbackOps: string[];
  /**
   * Copies onnxruntime inserted from the device to the host inside the graph (MemcpyToHost): each makes
   * a run wait for the device's queue before it goes on. Only the graph's own outputs should cross back.
   */
  hostCopies: number;
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  args?: { op_name?: string; provider?: string };
}

/** Zero tensors matching a session's inputs, every named (symbolic) dimension set to 1: never a zero-sized feed. */
export function probeFeeds(session: ort.InferenceSession): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of session.inputMetadata) {
    if (!input.isTensor) throw new Error(`input "${input.name}" is not a tensor`);
    const dims = input.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    feeds[input.name] = zeroTensor(input.type, size, dims);
  }
  return feeds;
}

function zeroTensor(type: ort.Tensor.Type, size: number, dims: number[]): ort.Tensor {
  switch (type) {
    case 'float32':
      return new ort.Tensor('float32', new Float32Array(size), dims);
    case 'float16':
      return new ort.Tensor('float16', new Uint16Array(size), dims);
    case 'int64':
      return new ort.Tensor('int64', new BigInt64Array(size), dims);
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(size), dims);
    case 'bool':
      return new ort.Tensor('bool', new Uint8Array(size), dims);
    default:
      throw new Error(`no probe value for an input of type ${type}`);
  }
}

/** Counts each node's provider in an onnxruntime profile (Chrome trace events, one per node run). */
export function placementFromProfile(events: ProfileEvent[], graph: string, device: ExecutionDevice): GraphNodePlacement {
  const providerOf = new Map<string, { provider: string; op: string }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.provider) continue;
    providerOf.set(e.name, { provider: e.args.provider, op: e.args.op_name ?? '?' });
  }
  const nodes: Record<string, number> = {};
  const cpuOps = new Set<string>();
  let hostCopies = 0;
  for (const { provider, op } of providerOf.values()) {
    nodes[provider] = (nodes[provider] ?? 0) + 1;
    if (device !== 'cpu' && provider === PROVIDER_NAMES.cpu) cpuOps.add(op);
    if (op === 'MemcpyToHost') hostCopies += 1;
  }
  return { graph, device, nodes, cpuFallbackOps: [...cpuOps].sort(), hostCopies };
}

/**
 * Runs the session once on probe feeds with profiling on (it must have been created with
 * enableProfiling and a profileFilePrefix inside `profileDir`), ends profiling and reads the placement.
 */
export async function measureNodePlacement(
  session: ort.InferenceSession,
  where: { graph: string; device: ExecutionDevice; profileDir: string },
): Promise<GraphNodePlacement> {
  const out = await nativeCall(() => session.run(probeFeeds(session)));
  // Outputs a session keeps on the device hold device memory until disposed.
  for (const tensor of Object.values(out)) if (tensor.location === 'gpu-buffer') tensor.dispose();
  session.endProfiling();
  const file = readdirSync(where.profileDir).find((f) => f.endsWith('.json'));
  if (!file) throw new Error(`onnxruntime wrote no profile for graph ${where.graph}`);
  const events = JSON.parse(readFileSync(join(where.profileDir, file), 'utf8')) as ProfileEvent[];
  const placement = placementFromProfile(events, where.graph, where.device);
  if (Object.keys(placement.nodes).length === 0) throw new Error(`the profile of graph ${where.graph} names no node's provider`);
  return placement;
}

/**
 * One line per graph whose nodes did not all run on the asked-for device's provider: a silent fall-back
 * to the CPU costs a copy across the bus each way, so the server logs it as a warning; it says too
 * when the graph copies tensors back to the host mid-run.
 */
export function placementWarnings(placements: readonly GraphNodePlacement[]): string[] {
  return placements.flatMap((p) => {
    const total = Object.values(p.nodes).reduce((a, b) => a + b, 0);
    const onDevice = p.nodes[PROVIDER_NAMES[p.device]] ?? 0;
    if (onDevice === total) return [];
    const copies = p.hostCopies ? `; ${p.hostCopies} device-to-host copies mid-run, each a wait for the device` : '';
    return [`graph ${p.graph}: ${total - onDevice} of ${total} nodes do not run on ${p.device} (CPU ops: ${p.cpuFallbackOps.join(', ') || 'none'})${copies}`];
  });
}
