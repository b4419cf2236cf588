import type { T5Runner } from '../t5-runner.ts';
import { ModelLoadError } from './model-load-error.ts';
import type { T5Weights } from './t5-weights.ts';

/**
 * Refuses weights holding NaN or ±Infinity: such a model loads and serves empty or garbage text
 * (a diverged finetune writes them), so it must fail before it is activated or published.
 */
export function checkWeightsFinite(weights: T5Weights, file: string): void {
  for (const [name, { data }] of weights) {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) throw new ModelLoadError(file, `tensor ${name} holds ${data[i]} at element ${i}; the weights are not finite`);
    }
  }
}

/**
 * One teacher-forced step on a one-token prompt: the loaded graphs must produce finite logits. Catches
 * what a weight scan cannot (an overflow inside the network) before the version takes traffic.
 */
export async function probeForward(runner: T5Runner, tokens: { decoderStart: number; eos: readonly number[] }, dir: string): Promise<void> {
  if (!(await runner.probeFinite([tokens.eos[0] ?? 1], tokens.decoderStart))) throw new ModelLoadError(dir, 'a probe forward pass produced non-finite logits');
}
