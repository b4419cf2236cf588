import type { SessionConfig } from '../../runtime/onnx-session.ts';

/**
 * Training sessions run on the CPU with a fixed thread count: the same thread count gives the same
 * reduction order, which bit-for-bit resume after a crash relies on.
 */
export function finetuneSessionConfig(threads: number): SessionConfig {
  return { device: 'cpu', threads };
}
