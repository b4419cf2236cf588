import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Byte tokens take ranks 3..258, after T5's pad/eos/unk; a few merges follow. */
export const BYTE_RANK_OFFSET = 3;
export const MERGES = ['th', 'the', ' t', ' the', 'in', ' in'];
export const MERGE_RANK = Object.fromEntries(MERGES.map((m, i) => [m, 259 + i]));
export const SENTINEL_0 = 266;
export const SENTINEL_1 = 265;

/** Writes a tiny byte-level BPE vocabulary in the tiktoken layout TiktokenTokenizer documents. */
export function writeTinyTiktokenTokenizer(dir: string, edit: (config: Record<string, unknown>) => void = () => {}): void {
  const lines: string[] = [];
  for (let byte = 0; byte < 256; byte++) lines.push(`${Buffer.from([byte]).toString('base64')} ${byte + BYTE_RANK_OFFSET}`);
  for (const merge of MERGES) lines.push(`${Buffer.from(merge).toString('base64')} ${MERGE_RANK[merge]}`);
  writeFileSync(join(dir, 'tokenizer.tiktoken'), `${lines.join('\n')}\n`);
  const config: Record<string, unknown> = {
    pat_str: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
    added_tokens_decoder: {
      0: { content: '<pad>', special: true },
      1: { content: '</s>', special: true },
      2: { content: '<unk>', special: true },
      [SENTINEL_1]: { content: '<extra_id_1>', special: true },
      [SENTINEL_0]: { content: '<extra_id_0>', special: true },
    },
    pad_token: '<pad>',
    eos_token: '</s>',
    unk_token: '<unk>',
  };
  edit(config);
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2));
}
