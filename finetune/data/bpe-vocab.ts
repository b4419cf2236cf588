import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A byte-level BPE learner (GPT-2 style) whose output is a tiktoken vocabulary that
 * runtime/checkpoint/tiktoken-tokenizer.ts loads. No npm package trains BPE offline, and the corpus
 * here is a few megabytes, so a plain learner that recounts pairs each merge is fast enough and easy
 * to check.
 *
 * Ids follow T5: pad 0, eos 1, unk 2, then the 256 single bytes, then the merges in the order they
 * were learned (a token's id is its tiktoken rank, so earlier merges apply first), then the sentinels
 * at the top, <extra_id_0> last, as T5 numbers them.
 */

/**
 * GPT-4's pre-tokenization with numbers in groups of up to two digits, not three: every number below
 * 100 can become one token, as a word does. A small model copies, sorts and compares whole tokens
 * far better than digit pairs (with single digits, flan-mini mixed up the digits of the numbers it
 * copied: min_of_list 13% against 82% after 600 finetuning steps), and two-digit groups keep the
 * vocabulary's number entries at about a hundred. Written so that JavaScript's RegExp (learning) and
 * tiktoken's fancy-regex (encoding) split text the same way.
 */
export const PRETOKENIZE_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}{1,2}| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

export const SPECIAL_IDS = { pad: 0, eos: 1, unk: 2 } as const;
const BYTE_OFFSET = 3;

export interface BpeVocabulary {
  /** Every token's bytes, indexed by id; undefined where the id is a special token. */
  tokens: (Uint8Array | undefined)[];
  /** Total ids, specials and sentinels included. */
  vocabSize: number;
  sentinels: number;
}

/**
 * Learns merges until the vocabulary holds `vocabSize` ids in all. Ties between equally frequent
 * pairs break toward the lower ids, so the result is a pure function of (texts, sizes).
 */
export function learnBpe(texts: Iterable<string>, vocabSize: number, sentinels: number): BpeVocabulary {
  const mergesWanted = vocabSize - BYTE_OFFSET - 256 - sentinels;
  if (mergesWanted < 0) throw new Error(`vocabulary of ${vocabSize} cannot hold 3 specials, 256 bytes and ${sentinels} sentinels`);
  const counts = new Map<string, number>();
  const pattern = new RegExp(PRETOKENIZE_PATTERN, 'gu');
  for (const text of texts) for (const piece of text.match(pattern) ?? []) counts.set(piece, (counts.get(piece) ?? 0) + 1);

  const encoder = new TextEncoder();
  const words = [...counts].map(([piece, count]) => ({ ids: [...encoder.encode(piece)].map((b) => b + BYTE_OFFSET), count }));
  const tokens: (Uint8Array | undefined)[] = [undefined, undefined, undefined];
  for (let b = 0; b < 256; b++) tokens.push(Uint8Array.of(b));

  for (let m = 0; m < mergesWanted; m++) {
    const pairCounts = new Map<number, number>();
    for (const w of words) for (let i = 0; i + 1 < w.ids.length; i++) {
      const key = w.ids[i] * 65536 + w.ids[i + 1];
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + w.count);
    }
    let best = -1;
    let bestCount = 0;
    for (const [key, count] of pairCounts) if (count > bestCount || (count === bestCount && key < best)) [best, bestCount] = [key, count];
    if (best < 0) break; // every word is already one token
    const left = Math.floor(best / 65536);
    const right = best % 65536;
    const id = tokens.length;
    tokens.push(concat(tokens[left]!, tokens[right]!));
    for (const w of words) w.ids = mergePair(w.ids, left, right, id);
  }
  return { tokens, vocabSize: tokens.length + sentinels, sentinels };
}

function mergePair(ids: number[], left: number, right: number, merged: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === left && ids[i + 1] === right) {
      out.push(merged);
      i++;
    } else out.push(ids[i]);
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Writes tokenizer.tiktoken and tokenizer_config.json into `dir`; returns their paths. */
export function writeTiktokenVocabulary(dir: string, vocab: BpeVocabulary): string[] {
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  vocab.tokens.forEach((bytes, id) => {
    if (bytes) lines.push(`${Buffer.from(bytes).toString('base64')} ${id}`);
  });
  const added: Record<string, { content: string; special: true }> = {
    [SPECIAL_IDS.pad]: { content: '<pad>', special: true },
    [SPECIAL_IDS.eos]: { content: '</s>', special: true },
    [SPECIAL_IDS.unk]: { content: '<unk>', special: true },
  };
  for (let i = 0; i < vocab.sentinels; i++) added[vocab.vocabSize - 1 - i] = { content: `<extra_id_${i}>`, special: true };
  const ranksFile = join(dir, 'tokenizer.tiktoken');
  const configFile = join(dir, 'tokenizer_config.json');
  writeFileSync(ranksFile, `${lines.join('\n')}\n`);
  const config = { pat_str: PRETOKENIZE_PATTERN, added_tokens_decoder: added, pad_token: '<pad>', eos_token: '</s>', unk_token: '<unk>' };
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  return [ranksFile, configFile];
}
