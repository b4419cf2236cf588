import type { Tokenizer } from '../../runtime/checkpoint/tokenizer.ts';
import type { TrainBatch } from '../trainer/train-step.ts';
import type { RenderedExample } from './templates.ts';

/** Token ids of one rendered example, each side ending in </s>. */
export interface TokenizedExample {
  source: number[];
  target: number[];
}

export interface SequenceLimits {
  maxSourceLength: number;
  maxTargetLength: number;
}

export interface SpecialIds {
  pad: number;
  eos: number;
  decoderStart: number;
}

const IGNORE = -100;

/** Truncation keeps </s> as the last token, as the HF tokenizer's truncation does. */
export function tokenizeExample(tokenizer: Tokenizer, example: RenderedExample, limits: SequenceLimits): TokenizedExample {
  const clip = (ids: number[], max: number) => (ids.length <= max ? ids : [...ids.slice(0, max - 1), tokenizer.eosId]);
  return {
    source: clip(tokenizer.encode(example.source), limits.maxSourceLength),
    target: clip(tokenizer.encode(example.target), limits.maxTargetLength),
  };
}

/** One example per row, padded to the longest row; decoder inputs are the labels shifted right. */
export function padBatch(examples: readonly TokenizedExample[], ids: SpecialIds): TrainBatch {
  const sourceLength = Math.max(...examples.map((e) => e.source.length));
  const targetLength = Math.max(...examples.map((e) => e.target.length));
  const pad = <T>(row: T[], length: number, fill: T) => [...row, ...new Array<T>(length - row.length).fill(fill)];
  return {
    inputIds: examples.map((e) => pad(e.source, sourceLength, ids.pad)),
    attentionMask: examples.map((e) => pad(e.source.map(() => 1), sourceLength, 0)),
    decoderInputIds: examples.map((e) => pad([ids.decoderStart, ...e.target.slice(0, -1)], targetLength, ids.pad)),
    labels: examples.map((e) => pad(e.target, targetLength, IGNORE)),
  };
}

interface PackedRow {
  examples: TokenizedExample[];
  source: number;
  target: number;
}

/**
 * First-fit packing of examples into `rows` rows of at most the given lengths. Returns the packed
 * batch and how many of the examples (a prefix) it holds: packing stops at the first example that
 * fits in no row. Each example is a segment (ids 1, 2, ...; 0 is padding) with positions from 0 and
 * its own shifted decoder input, so the train graph can keep examples from attending to each other.
 */
export function packBatch(
  examples: readonly TokenizedExample[],
  rows: number,
  limits: SequenceLimits,
  ids: SpecialIds,
): { batch: TrainBatch; used: number } {
  const packed: PackedRow[] = Array.from({ length: rows }, () => ({ examples: [], source: 0, target: 0 }));
  let used = 0;
  for (const e of examples) {
    const row = packed.find((r) => r.source + e.source.length <= limits.maxSourceLength && r.target + e.target.length <= limits.maxTargetLength);
    if (!row) break;
    row.examples.push(e);
    row.source += e.source.length;
    row.target += e.target.length;
    used++;
  }
  if (used === 0) throw new Error('packBatch: no example fits the sequence limits');
  const sourceLength = Math.max(...packed.map((r) => r.source));
  const targetLength = Math.max(...packed.map((r) => r.target));
  const batch: Required<Omit<TrainBatch, 'attentionMask'>> = {
    inputIds: [], decoderInputIds: [], labels: [],
    encoderSegmentIds: [], encoderPositions: [], decoderSegmentIds: [], decoderPositions: [],
  };
  for (const row of packed) {
    const src = { ids: [] as number[], seg: [] as number[], pos: [] as number[] };
    const tgt = { ids: [] as number[], labels: [] as number[], seg: [] as number[], pos: [] as number[] };
    row.examples.forEach((e, i) => {
      src.ids.push(...e.source);
      src.seg.push(...e.source.map(() => i + 1));
      src.pos.push(...e.source.map((_, p) => p));
      tgt.ids.push(ids.decoderStart, ...e.target.slice(0, -1));
      tgt.labels.push(...e.target);
      tgt.seg.push(...e.target.map(() => i + 1));
      tgt.pos.push(...e.target.map((_, p) => p));
    });
    const fill = (a: number[], length: number, v: number) => [...a, ...new Array<number>(length - a.length).fill(v)];
    batch.inputIds.push(fill(src.ids, sourceLength, ids.pad));
    batch.encoderSegmentIds.push(fill(src.seg, sourceLength, 0));
    batch.encoderPositions.push(fill(src.pos, sourceLength, 0));
    batch.decoderInputIds.push(fill(tgt.ids, targetLength, ids.pad));
    batch.labels.push(fill(tgt.labels, targetLength, IGNORE));
    batch.decoderSegmentIds.push(fill(tgt.seg, targetLength, 0));
    batch.decoderPositions.push(fill(tgt.pos, targetLength, 0));
  }
  return { batch, used };
}
