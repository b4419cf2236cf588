import { cpus } from 'node:os';
import ort from 'onnxruntime-node';
import { ConfigError } from './config-error.ts';

export type ExecutionDevice = 'cpu' | 'cuda';

export interface SessionConfig {
  device: ExecutionDevice;
  /** Intra-op threads; 0 lets onnxruntime pick. */
  threads: number;
  /**
   * Whether idle pool threads spin waiting for work (onnxruntime's default: lowest latency). Background
   * work beside a server turns it off, so its threads give the cores back instead of burning them.
   */
  spinning?: boolean;
}

/** Session settings from the environment: FLAN_DEVICE (cpu|cuda) and FLAN_THREADS. */
export function sessionConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SessionConfig {
  const device = (env.FLAN_DEVICE ?? 'cpu').toLowerCase();
  if (device !== 'cpu' && device !== 'cuda') {
    throw new ConfigError(`FLAN_DEVICE must be "cpu" or "cuda", not "${env.FLAN_DEVICE}"`);
  }
  const threads = env.FLAN_THREADS === undefined || env.FLAN_THREADS === '' ? 0 : Number(env.FLAN_THREADS);
  if (!Number.isInteger(threads) || threads < 0 || threads > cpus().length * 4) {
    throw new ConfigError(`FLAN_THREADS must be a whole number from 0 to ${cpus().length * 4}, not "${env.FLAN_THREADS}"`);
  }
  return { device, threads };
}

export function cudaAvailable(): boolean {
  return ort.listSupportedBackends().some((b) => b.name === 'cuda' && b.bundled);
}

/**
 * Creates an onnxruntime session for a serialized model (bytes) or a model file (path; needed when the
 * model keeps its weights in external data next to it).
 */
export async function createSession(model: Uint8Array | string, config: SessionConfig): Promise<ort.InferenceSession> {
  if (config.device === 'cuda' && !cudaAvailable()) {
    throw new ConfigError(
      'the CUDA execution provider is not installed: install with ONNXRUNTIME_NODE_INSTALL=cuda12 on a machine with CUDA 12, or use FLAN_DEVICE=cpu',
    );
  }
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: config.device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    graphOptimizationLevel: 'all',
    ...(config.threads > 0 ? { intraOpNumThreads: config.threads, interOpNumThreads: 1 } : {}),
    ...(config.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  };
  return typeof model === 'string'
    ? ort.InferenceSession.create(model, options)
    : ort.InferenceSession.create(model, options);
}

export function int64Feed(rows: readonly (readonly number[])[]): ort.Tensor {
  const width = rows[0]?.length ?? 0;
  const data = new BigInt64Array(rows.length * width);
  rows.forEach((row, r) => {
    if (row.length !== width) throw new Error(`ragged int64 feed: row ${r} has ${row.length} values, expected ${width}`);
    row.forEach((v, c) => (data[r * width + c] = BigInt(v)));
  });
  return new ort.Tensor('int64', data, [rows.length, width]);
}

export { ort };
