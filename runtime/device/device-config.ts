import { availableParallelism, cpus } from 'node:os';
import { ConfigError } from '../config-error.ts';
import { parseWeightFormat, type WeightFormat } from '../graph/quantize-weights.ts';

export const EXECUTION_DEVICES = ['cpu', 'webgpu', 'cuda'] as const;
export type ExecutionDevice = (typeof EXECUTION_DEVICES)[number];

export type Spinning = 'always' | 'in-run' | 'never';

export interface SessionConfig {
  device: ExecutionDevice;
  /** Intra-op threads (the CPU provider's, including the nodes a GPU provider leaves to it); 0: one per CPU this process may use. */
  threads: number;
  /**
   * When idle pool threads spin waiting for work instead of sleeping: 'always' (onnxruntime's default,
   * absent: between runs too, so they burn the cores while nothing runs), 'in-run' (only while a run is
   * in progress: they stop as it returns; the served engine, see engine-client.ts) or 'never' (background
   * work beside a server, whose threads give the cores back at once).
   */
  spinning?: Spinning;
  /** How served graphs hold their large MatMul weights (FLAN_WEIGHTS); f32 when absent. Training ignores it. */
  weights?: WeightFormat;
  /** Served graphs compute in float16 (FLAN_PRECISION=fp16) or float32 (absent). Training ignores it. */
  precision?: Precision;
  /**
   * Whether the CPU provider keeps the activation memory its runs free in its own arena (onnxruntime's
   * default, absent) or hands it back to malloc (false, FLAN_CPU_ARENA=off). The arena only grows: a
   * served model's burst of batch-32 encoder passes left it ~110 MiB larger for good, where malloc's
   * freed pages go back to the kernel (runtime/freed-memory.ts).
   */
  cpuArena?: boolean;
  /**
   * onnxruntime's memory pattern (absent: on): after a graph's first run at a shape it plans every
   * activation into one block, allocated fresh on the next run. For a train step that block is ~1.4
   * GiB beside what the first run had already allocated: the second step was as slow as the first
   * (15 s against 3.5, all first-touch page faults) and the process 1.4 GiB larger for good.
   */
  memoryPattern?: boolean;
  /**
   * Whether a greedy decoder step on the CPU with f32 weights finds its exact token through the int8
   * screened head (runtime/screened-head.ts; absent: yes) or the f32 head (false, FLAN_SCREENED_HEAD=off).
   */
  screenedHead?: boolean;
}

export const PRECISIONS = ['fp32', 'fp16'] as const;
export type Precision = (typeof PRECISIONS)[number];

export function parsePrecision(value: string | undefined, weights: WeightFormat): Precision {
  const precision = (value || 'fp32').toLowerCase();
  if (!(PRECISIONS as readonly string[]).includes(precision)) throw new ConfigError(`FLAN_PRECISION must be one of ${PRECISIONS.join(', ')}, not "${value}"`);
  if (precision === 'fp16' && weights !== 'f32') throw new ConfigError(`FLAN_PRECISION=fp16 takes float weights: it cannot be combined with FLAN_WEIGHTS=${weights}`);
  return precision as Precision;
}

/** Devices whose memory is not the host's: feeds cross a bus, and zero-sized tensors crash onnxruntime there. */
export function isGpuDevice(device: ExecutionDevice): boolean {
  return device !== 'cpu';
}

/**
 * Devices where the runner keeps the KV cache and cross K/V between steps (IO binding). onnxruntime-node
 * 1.30 hands back and takes device tensors for WebGPU only ('gpu-buffer'); on CUDA every run's tensors
 * cross the bus.
 */
export function keepsTensorsOnDevice(device: ExecutionDevice): boolean {
  return device === 'webgpu';
}

export function parseDevice(value: string | undefined): ExecutionDevice {
  const device = (value || 'cpu').toLowerCase();
  if (!(EXECUTION_DEVICES as readonly string[]).includes(device)) {
    throw new ConfigError(`FLAN_DEVICE must be one of ${EXECUTION_DEVICES.join(', ')}, not "${value}"`);
  }
  return device as ExecutionDevice;
}

/** FLAN_CPU_ARENA: on or off (the default for served models: see SessionConfig.cpuArena). */
export function parseCpuArena(value: string | undefined): boolean {
  return parseOnOff('FLAN_CPU_ARENA', value, 'off');
}

function parseOnOff(name: string, value: string | undefined, fallback: 'on' | 'off'): boolean {
  const setting = (value || fallback).toLowerCase();
  if (setting !== 'on' && setting !== 'off') throw new ConfigError(`${name} must be on or off, not "${value}"`);
  return setting === 'on';
}

/** Whether a session config's decoder takes the screened head: greedy steps on the CPU over f32 weights in fp32. */
export function takesScreenedHead(config: SessionConfig): boolean {
  return config.screenedHead !== false && config.device === 'cpu' && (config.weights ?? 'f32') === 'f32' && config.precision !== 'fp16';
}

/** Whether a session config's graphs run onnxruntime's u8s8 integer GEMM (see integer-gemm-range.ts). */
export function usesIntegerGemm(config: SessionConfig): boolean {
  return takesScreenedHead(config) || config.weights === 'int8-gemm';
}

/** The intra-op threads a session runs with: `threads`, or one per CPU this process may use when it is 0. */
export function intraOpThreads(threads: number): number {
  return threads > 0 ? threads : availableParallelism();
}

/** Session settings from the environment: FLAN_DEVICE (cpu|webgpu|cuda), FLAN_THREADS, FLAN_WEIGHTS, FLAN_PRECISION, FLAN_CPU_ARENA and FLAN_SCREENED_HEAD. */
export function sessionConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SessionConfig {
  const device = parseDevice(env.FLAN_DEVICE);
  const threads = env.FLAN_THREADS === undefined || env.FLAN_THREADS === '' ? 0 : Number(env.FLAN_THREADS);
  if (!Number.isInteger(threads) || threads < 0 || threads > cpus().length * 4) {
    throw new ConfigError(`FLAN_THREADS must be a whole number from 0 to ${cpus().length * 4}, not "${env.FLAN_THREADS}"`);
  }
  const weights = parseWeightFormat(env.FLAN_WEIGHTS);
  // Its integer GEMM is a CPU kernel: on a GPU provider those nodes would fall back to the CPU.
  if (weights === 'int8-gemm' && device !== 'cpu') throw new ConfigError(`FLAN_WEIGHTS=int8-gemm runs on the CPU only; use int8 with FLAN_DEVICE=${device}`);
  return {
    device,
    threads,
    weights,
    precision: parsePrecision(env.FLAN_PRECISION, weights),
    cpuArena: parseCpuArena(env.FLAN_CPU_ARENA),
    screenedHead: parseOnOff('FLAN_SCREENED_HEAD', env.FLAN_SCREENED_HEAD, 'on'),
  };
}
