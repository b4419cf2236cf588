import { SeededRandom } from '../../../runtime/seeded-random.ts';
import type { SyntheticExample } from './render.ts';

export const SENTINEL_COUNT = 16;
export const sentinel = (i: number) => `<extra_id_${i}>`;

export interface SpanCorruptionOptions {
  /** Fraction of words corrupted (T5: 0.15). */
  noiseDensity?: number;
  /** Mean length of a corrupted span in words (T5: 3). */
  meanSpanLength?: number;
}

/**
 * T5's span corruption over words rather than sentencepiece tokens (the text is tokenized later by
 * the trainer, and the vocabulary treats each sentinel as one special token): corrupted spans become
 * one sentinel each in the input, and the target lists each sentinel followed by the words it hid,
 * closed by one more sentinel. Words carry their leading whitespace, so the pieces rejoin exactly.
 */
export function spanCorrupt(text: string, rng: SeededRandom, options: SpanCorruptionOptions = {}): SyntheticExample {
  const words = text.match(/\s*\S+/g) ?? [];
  const density = options.noiseDensity ?? 0.15;
  const noise = Math.min(Math.max(Math.round(words.length * density), 1), words.length - 1);
  const spans = Math.min(Math.max(Math.round(noise / (options.meanSpanLength ?? 3)), 1), noise, words.length - noise, SENTINEL_COUNT - 1);
  const noiseLengths = partition(noise, spans, rng);
  const keepLengths = partition(words.length - noise, spans, rng);
  const inputs: string[] = [];
  const targets: string[] = [];
  let at = 0;
  for (let s = 0; s < spans; s++) {
    inputs.push(...words.slice(at, at + keepLengths[s]));
    at += keepLengths[s];
    inputs.push(sentinel(s));
    targets.push(sentinel(s), ...words.slice(at, at + noiseLengths[s]));
    at += noiseLengths[s];
  }
  targets.push(sentinel(spans));
  return { inputs: inputs.join(''), targets: targets.join(''), task: 'span_corruption' };
}

/** `total` split into `parts` positive lengths, uniformly over the cut points. */
function partition(total: number, parts: number, rng: SeededRandom): number[] {
  const cuts = rng.shuffle(Array.from({ length: total - 1 }, (_, i) => i + 1)).slice(0, parts - 1).sort((a, b) => a - b);
  const bounds = [0, ...cuts, total];
  return bounds.slice(1).map((b, i) => b - bounds[i]);
}

export function spanCorruptionExamples(documents: readonly string[], seed: number, options?: SpanCorruptionOptions): SyntheticExample[] {
  const rng = SeededRandom.fromSeed(seed);
  return documents.filter((d) => (d.match(/\S+/g) ?? []).length >= 2).map((d) => spanCorrupt(d, rng, options));
}
