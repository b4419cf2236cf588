import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tiktoken } from 'tiktoken';
import { ModelLoadError } from './model-load-error.ts';
import { isPlainObject } from './read-json-file.ts';
import type { Tokenizer } from './tokenizer.ts';
import { readTokenizerConfig, specialTokenText, UNKNOWN_TOKEN_SURFACE } from './tokenizer-config.ts';

export const TIKTOKEN_RANKS_FILE = 'tokenizer.tiktoken';

/**
 * A byte-level BPE vocabulary in tiktoken's format, run by the `tiktoken` package, with T5's special
 * tokens on top. The directory holds:
 *
 *   tokenizer.tiktoken      one token a line: `<base64 of the token's bytes> <rank>`; the rank is the
 *                           token id and the merge priority (lower merges first). All 256 single
 *                           bytes must be present, so that any text encodes without an unknown token.
 *   tokenizer_config.json   {
 *                             "pat_str": "<the pre-tokenization regex, tiktoken/fancy-regex syntax>",
 *                             "added_tokens_decoder": { "0": {"content": "<pad>"}, "1": {"content": "</s>"},
 *                                                       "2": {"content": "<unk>"},
 *                                                       "<id>": {"content": "<extra_id_0>"}, ... },
 *                             "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"
 *                           }
 *
 * added_tokens_decoder is Hugging Face's key for the same thing; every entry is a special token,
 * recognized in input text as one id (sentinels included) and dropped by decode with skipSpecialTokens.
 * The role names default to T5's; their ids are whatever the table says (T5 uses 0, 1, 2).
 */
export class TiktokenTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly eosId: number;
  private readonly unkId: number;
  private readonly idOfToken = new Map<string, number>();
  private readonly textOfId = new Map<number, string>();

  private constructor(
    private readonly core: Tiktoken,
    private readonly bytesOfRank: Map<number, Uint8Array>,
    private readonly specials: Map<number, string>,
    roleIds: { pad: number; eos: number; unk: number },
  ) {
    this.padId = roleIds.pad;
    this.eosId = roleIds.eos;
    this.unkId = roleIds.unk;
    for (const [rank, bytes] of bytesOfRank) {
      const text = tokenText(bytes);
      this.textOfId.set(rank, text);
      if (!this.idOfToken.has(text)) this.idOfToken.set(text, rank);
    }
    for (const [id, text] of specials) {
      this.textOfId.set(id, text);
      this.idOfToken.set(text, id);
    }
    let maxId = 0;
    for (const id of this.textOfId.keys()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
  }

  static load(dir: string): TiktokenTokenizer {
    const ranksFile = join(dir, TIKTOKEN_RANKS_FILE);
    let ranksText: string;
    try {
      ranksText = readFileSync(ranksFile, 'utf8');
    } catch (err) {
      throw new ModelLoadError(ranksFile, `cannot read: ${String(err)}`);
    }
    const bytesOfRank = parseRanks(ranksText, ranksFile);

    const config = readTokenizerConfig(dir);
    const patStr = config.json.pat_str;
    if (typeof patStr !== 'string') throw new ModelLoadError(config.file, '"pat_str" (string) is required');
    const specials = parseSpecialTokens(config.json.added_tokens_decoder, bytesOfRank, config.file);
    const idOfRole = (role: 'pad_token' | 'eos_token' | 'unk_token'): number => {
      const text = specialTokenText(config, role);
      const id = [...specials].find(([, t]) => t === text)?.[0];
      if (id === undefined) throw new ModelLoadError(config.file, `${role} "${text}" is not in added_tokens_decoder`);
      return id;
    };
    const roleIds = { pad: idOfRole('pad_token'), eos: idOfRole('eos_token'), unk: idOfRole('unk_token') };

    let core: Tiktoken;
    try {
      core = new Tiktoken(ranksText, Object.fromEntries([...specials].map(([id, t]) => [t, id])), patStr);
    } catch (err) {
      throw new ModelLoadError(config.file, `tiktoken rejected the vocabulary or pat_str: ${String(err)}`);
    }
    return new TiktokenTokenizer(core, bytesOfRank, specials, roleIds);
  }

  encode(text: string, opts?: { addEos?: boolean }): number[] {
    // 'all': special token text in the input is that special token, as in the HF T5 tokenizer.
    const ids = Array.from(this.core.encode(text, 'all'));
    if (opts?.addEos ?? true) ids.push(this.eosId);
    return ids;
  }

  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string {
    const skipSpecial = opts?.skipSpecialTokens ?? true;
    const encoder = new TextEncoder();
    const pieces: Uint8Array[] = [];
    for (const id of ids) {
      const bytes = this.bytesOfRank.get(id);
      if (bytes) pieces.push(bytes);
      else if (skipSpecial && id === this.unkId) pieces.push(encoder.encode(UNKNOWN_TOKEN_SURFACE));
      else if (!skipSpecial && this.specials.has(id)) pieces.push(encoder.encode(this.specials.get(id)));
    }
    // Join bytes before decoding: a character may be split across byte-level tokens.
    return new TextDecoder().decode(Buffer.concat(pieces));
  }

  tokenToId(token: string): number | undefined {
    return this.idOfToken.get(token);
  }

  /** The token's text; a token that is not whole UTF-8 reads as <0xHH> per byte, as in sentencepiece. */
  idToToken(id: number): string | undefined {
    return this.textOfId.get(id);
  }
}

function parseRanks(text: string, file: string): Map<number, Uint8Array> {
  const bytesOfRank = new Map<number, Uint8Array>();
  const singleBytes = new Set<number>();
  const seen = new Set<string>();
  text.split('\n').forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '') return;
    const fields = line.split(' ');
    const rank = Number(fields[1]);
    if (fields.length !== 2 || !Number.isInteger(rank) || rank < 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(fields[0])) {
      throw new ModelLoadError(file, `line ${index + 1}: expected "<base64 token> <rank>", got "${line.slice(0, 80)}"`);
    }
    if (bytesOfRank.has(rank) || seen.has(fields[0])) {
      throw new ModelLoadError(file, `line ${index + 1}: duplicate token or rank ${rank}`);
    }
    const bytes = new Uint8Array(Buffer.from(fields[0], 'base64'));
    if (bytes.length === 0) throw new ModelLoadError(file, `line ${index + 1}: empty token`);
    if (bytes.length === 1) singleBytes.add(bytes[0]);
    seen.add(fields[0]);
    bytesOfRank.set(rank, bytes);
  });
  // tiktoken panics inside WebAssembly on a byte it has no token for; refuse such a vocabulary here.
  if (singleBytes.size !== 256) {
    const missing = [...Array(256).keys()].find((b) => !singleBytes.has(b)) ?? 0;
    throw new ModelLoadError(file, `byte-level BPE needs all 256 single-byte tokens; byte 0x${hex(missing)} has none`);
  }
  return bytesOfRank;
}

function parseSpecialTokens(
  table: unknown,
  bytesOfRank: Map<number, Uint8Array>,
  file: string,
): Map<number, string> {
  if (!isPlainObject(table)) throw new ModelLoadError(file, '"added_tokens_decoder" (object) is required');
  const specials = new Map<number, string>();
  for (const [key, entry] of Object.entries(table)) {
    const id = Number(key);
    const content = isPlainObject(entry) ? entry.content : undefined;
    if (!Number.isInteger(id) || id < 0 || typeof content !== 'string' || content === '') {
      throw new ModelLoadError(file, `added_tokens_decoder["${key}"] must be {"content": string} under a token id`);
    }
    if (bytesOfRank.has(id)) {
      throw new ModelLoadError(file, `special token "${content}" has id ${id}, which ${TIKTOKEN_RANKS_FILE} also uses`);
    }
    if ([...specials.values()].includes(content)) {
      throw new ModelLoadError(file, `special token "${content}" appears twice in added_tokens_decoder`);
    }
    specials.set(id, content);
  }
  return specials;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function tokenText(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return [...bytes].map((b) => `<0x${hex(b)}>`).join('');
  }
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}
