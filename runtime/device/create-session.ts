import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { intraOpThreads, keepsTensorsOnDevice, type SessionConfig } from './device-config.ts';
import { nativeCall } from './native-calls.ts';
import { measureNodePlacement, type GraphNodePlacement } from './node-placement.ts';
import { assertProviderInstalled, explainSessionFailure } from './providers.ts';

/**
 * The onnxruntime session options of each device. A GPU device lists the CPU provider after its own
 * (onnxruntime keeps shape arithmetic there on purpose) and logs errors only: its warning that "some
 * nodes were not assigned" names no node, while the startup log and /metrics give the placement itself.
 */
export function sessionOptionsFor(config: SessionConfig, outputsOnDevice: readonly string[] = []): ort.InferenceSession.SessionOptions {
  const providers: Record<SessionConfig['device'], ort.InferenceSession.ExecutionProviderConfig[]> = {
    cpu: ['cpu'],
    webgpu: [{ name: 'webgpu' }, 'cpu'],
    cuda: [{ name: 'cuda' }, 'cpu'],
  };
  return {
    executionProviders: providers[config.device],
    graphOptimizationLevel: 'all',
    ...(config.cpuArena === false ? { enableCpuMemArena: false } : {}),
    ...(config.memoryPattern === false ? { enableMemPattern: false } : {}),
    ...(config.device === 'cpu' ? {} : { logSeverityLevel: 3 as const }),
    // Never onnxruntime's own default (0): it then pins each pool thread to a core, and the thread that
    // calls `run` (not pinned) competes with them. A batch-32 encoder pass of flan-t5-small took 104-142
    // ms that way against 67-83 with the count given, on this 2-core VM.
    intraOpNumThreads: intraOpThreads(config.threads),
    interOpNumThreads: 1,
    ...spinningOptions(config.spinning),
    ...(outputsOnDevice.length ? { preferredOutputLocation: deviceOutputLocations(config, outputsOnDevice) } : {}),
  };
}

/** onnxruntime's session entries for a SessionConfig's spinning (absent: its default, 'always'). */
function spinningOptions(spinning: SessionConfig['spinning']): Pick<ort.InferenceSession.SessionOptions, 'extra'> {
  if (spinning === 'never') return { extra: { session: { intra_op: { allow_spinning: '0' } } } };
  // Spinning stays allowed, so a run's parallel sections hand work over without waking a sleeping
  // thread, and stops when the run returns ("session.force_spinning_stop").
  if (spinning === 'in-run') return { extra: { session: { force_spinning_stop: '1' } } };
  return {};
}

/**
 * The outputs a caller keeps on the device and feeds back to a later run (IO binding). onnxruntime-node
 * binds only WebGPU buffers (its tensors' 'gpu-buffer' location), so elsewhere nothing may ask for it.
 */
function deviceOutputLocations(config: SessionConfig, names: readonly string[]): Record<string, 'gpu-buffer'> {
  if (!keepsTensorsOnDevice(config.device)) throw new Error(`outputs cannot stay on the ${config.device} device: onnxruntime-node binds WebGPU buffers only`);
  return Object.fromEntries(names.map((name) => [name, 'gpu-buffer' as const]));
}

async function openSession(model: Uint8Array | string, options: ort.InferenceSession.SessionOptions, config: SessionConfig) {
  assertProviderInstalled(config.device);
  try {
    // Runs are reported where they are made (T5Runner.run and the device helpers), not by replacing the
    // session's run: an own `run` on each session cost 330-550 MiB of resident memory in a served
    // model (bench vs-hf, idle RSS 1287-1501 vs 951-953 MiB; the cause inside onnxruntime-node not found).
    return await nativeCall(() => (typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options)));
  } catch (err) {
    throw explainSessionFailure(config.device, err);
  }
}

/**
 * Creates an onnxruntime session for a serialized model (bytes) or a model file (path; needed when the
 * model keeps its weights in external data next to it). Every session of the project is made here.
 */
export async function createSession(model: Uint8Array | string, config: SessionConfig, outputsOnDevice?: readonly string[]): Promise<ort.InferenceSession> {
  return openSession(model, sessionOptionsFor(config, outputsOnDevice), config);
}

export interface MeasuredSession {
  session: ort.InferenceSession;
  placement: GraphNodePlacement;
}

/**
 * A session and the number of its nodes each execution provider runs. onnxruntime-node has no API for
 * the placement, but its profiler names each node's provider: profiling is on for one probe run only.
 */
export async function createMeasuredSession(
  model: Uint8Array | string,
  config: SessionConfig,
  graph: string,
  outputsOnDevice?: readonly string[],
): Promise<MeasuredSession> {
  const dir = mkdtempSync(join(tmpdir(), 'flan-placement-'));
  try {
    const options = { ...sessionOptionsFor(config, outputsOnDevice), enableProfiling: true, profileFilePrefix: join(dir, 'profile') };
    const session = await openSession(model, options, config);
    const placement = await measureNodePlacement(session, { graph, device: config.device, profileDir: dir });
    return { session, placement };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
