import type { SessionConfig } from '../../runtime/onnx-session.ts';

/**
 * Training sessions run on the CPU with a fixed thread count: the same thread count gives the same
 * reduction order, which bit-for-bit resume after a crash relies on. Their threads do not spin while
 * idle: training shares the cores with the server it runs beside, and spinning only buys latency.
 * No memory pattern: its planned block doubled a train step's activation memory (SessionConfig).
 */
export function finetuneSessionConfig(threads: number): SessionConfig {
  return { device: 'cpu', threads, spinning: 'never', memoryPattern: false };
}
