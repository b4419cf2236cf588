import { BASE_ADAPTER } from '../runtime/engine/adapter-slots.ts';
import type { DecodeRunner } from '../runtime/engine/decode-runner.ts';

/**
 * Greedy decoding of one batch that stays together for `newTokens` steps, through the decode runner the
 * server runs (on WebGPU its KV cache stays on the device). `afterStep` sees the runner after each step;
 * with `adapters` (loaded in the runner), row b runs on adapters[b % length].
 * Returns the seconds of the batch's arrival (encoder, cross K/V, cache) and of the steps. The runner
 * is left empty.
 */
export async function decodeBatch(
  decoder: DecodeRunner,
  prompts: number[][],
  newTokens: number,
  decoderStartTokenId: number,
  { afterStep, adapters = [BASE_ADAPTER] }: { afterStep?: () => void; adapters?: readonly string[] } = {},
) {
  let start = performance.now();
  await decoder.repack([], prompts.map((promptIds, b) => ({ promptIds, adapter: adapters[b % adapters.length] })));
  const prefillSeconds = (performance.now() - start) / 1000;
  start = performance.now();
  let last = prompts.map(() => decoderStartTokenId);
  for (let step = 0; step < newTokens; step++) {
    const { greedyIds } = await decoder.step(last, { logits: false });
    last = Array.from(greedyIds, Number);
    afterStep?.();
  }
  const stepSeconds = (performance.now() - start) / 1000;
  decoder.clear();
  return { prefillSeconds, stepSeconds };
}
