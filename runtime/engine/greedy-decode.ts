import { int64Feed } from '../onnx-session.ts';
import type { T5Runner } from '../t5-runner.ts';

export interface GreedyOptions {
  maxNewTokens: number;
  decoderStartTokenId: number;
  eosTokenId: number;
  padTokenId: number;
}

/**
 * Greedy decoding of a padded batch with the KV cache, in lock-step: the reference the scheduler is
 * checked against, and what `flan-serve generate` runs. Returns, like Hugging Face's generate, each row
 * starting with the decoder start token and padded after its end-of-sequence token.
 */
export async function greedyDecode(
  runner: T5Runner,
  inputIds: number[][],
  attentionMask: number[][],
  options: GreedyOptions,
): Promise<number[][]> {
  const batch = inputIds.length;
  const encoderMask = int64Feed(attentionMask);
  const cross = await runner.crossKeyValues(await runner.encode(int64Feed(inputIds), encoderMask));
  const sequences = inputIds.map(() => [options.decoderStartTokenId]);
  const finished = new Array<boolean>(batch).fill(false);
  let past = runner.emptyPast(batch);
  for (let step = 0; step < options.maxNewTokens && !finished.every(Boolean); step++) {
    const { logits, present } = await runner.decodeStep({
      inputIds: int64Feed(sequences.map((s) => [s[s.length - 1]])),
      encoderAttentionMask: encoderMask,
      selfAttentionMask: int64Feed(sequences.map(() => new Array<number>(step + 1).fill(1))),
      queryPositions: int64Feed(sequences.map(() => [step])),
      keyPositions: int64Feed(sequences.map(() => Array.from({ length: step + 1 }, (_, i) => i))),
      past,
      cross,
    });
    past = present;
    const vocab = runner.config.vocabSize;
    const data = logits.data as Float32Array;
    for (let b = 0; b < batch; b++) {
      const next = finished[b] ? options.padTokenId : argmax(data, b * vocab, vocab);
      sequences[b].push(next);
      if (next === options.eosTokenId) finished[b] = true;
    }
  }
  return sequences;
}

export function argmax(data: Float32Array, offset: number, length: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = data[offset + i];
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}
