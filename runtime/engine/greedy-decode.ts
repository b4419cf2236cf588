import { int64Feed } from '../onnx-session.ts';
import type { T5Runner } from '../t5-runner.ts';
import { BatchKVCache, sliceCrossRow } from './batch-kv-cache.ts';

export interface GreedyOptions {
  maxNewTokens: number;
  decoderStartTokenId: number;
  eosTokenId: number;
  padTokenId: number;
}

/**
 * Greedy decoding of a padded batch in lock-step with the KV cache: the reference the scheduler (and
 * `flan-serve generate`'s output) is checked against, and bench/weights-quality's decoder. Returns,
 * like Hugging Face's generate, each row starting with the decoder start token and padded after its
 * end-of-sequence token.
 */
export async function greedyDecode(
  runner: T5Runner,
  inputIds: number[][],
  attentionMask: number[][],
  options: GreedyOptions,
): Promise<number[][]> {
  const { numDecoderLayers, numHeads, dKv } = runner.config;
  const states = await runner.encode(int64Feed(inputIds), int64Feed(attentionMask));
  const cross = await runner.crossKeyValues(states);
  const cache = new BatchKVCache(numDecoderLayers, numHeads, dKv);
  // Each row's cross K/V, cut from the padded batch to its own prompt length.
  cache.repack([], inputIds.map((_, b) => sliceCrossRow(cross, b, attentionMask[b].reduce((a, m) => a + m, 0))));
  const sequences = inputIds.map(() => [options.decoderStartTokenId]);
  const finished = new Array<boolean>(inputIds.length).fill(false);
  for (let step = 0; step < options.maxNewTokens && !finished.every(Boolean); step++) {
    const { greedyIds } = await cache.step(runner, int64Feed(sequences.map((s) => [s[s.length - 1]])));
    sequences.forEach((sequence, b) => {
      const next = finished[b] ? options.padTokenId : Number(greedyIds[b]);
      sequence.push(next);
      if (next === options.eosTokenId) finished[b] = true;
    });
  }
  return sequences;
}
