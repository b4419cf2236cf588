import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TiktokenTokenizer } from '../../runtime/checkpoint/tiktoken-tokenizer.ts';
import { loadTokenizer } from '../../runtime/checkpoint/tokenizer.ts';
import { expectLoadError, tempDir } from './fixture-paths.ts';
import { BYTE_RANK_OFFSET, MERGE_RANK, SENTINEL_0, SENTINEL_1, writeTinyTiktokenTokenizer } from './tiny-tiktoken.ts';

const byte = (char: string) => char.charCodeAt(0) + BYTE_RANK_OFFSET;

describe('tiktoken tokenizer', () => {
  const root = tempDir();
  const dir = join(root, 'tiny');
  mkdirSync(dir);
  writeTinyTiktokenTokenizer(dir);
  const tokenizer = loadTokenizer(dir);

  it('is picked by loadTokenizer when there is no tokenizer.json', () => {
    expect(tokenizer).toBeInstanceOf(TiktokenTokenizer);
    expect([tokenizer.padId, tokenizer.eosId, tokenizer.vocabSize]).toEqual([0, 1, 267]);
  });

  it('applies the BPE merges by rank and appends </s> by default', () => {
    expect(tokenizer.encode('the thin')).toEqual([MERGE_RANK.the, byte(' '), MERGE_RANK.th, MERGE_RANK.in, 1]);
    expect(tokenizer.encode('the the', { addEos: false })).toEqual([MERGE_RANK.the, MERGE_RANK[' the']]);
    expect(tokenizer.encode('')).toEqual([1]);
  });

  it('round-trips any text, byte by byte where no merge applies', () => {
    for (const text of ['the thin in', 'Schön, naïve, café — “quotes” 😀 東京', '  spaces\tand\nnewlines  ', '']) {
      const ids = tokenizer.encode(text);
      expect(ids.every((id) => id >= 0 && id < tokenizer.vocabSize)).toBe(true);
      expect(tokenizer.decode(ids)).toBe(text);
    }
  });

  it('treats T5 sentinels and </s> as single special tokens', () => {
    const ids = tokenizer.encode('a <extra_id_0> b<extra_id_1>');
    expect(ids).toEqual([byte('a'), byte(' '), SENTINEL_0, byte(' '), byte('b'), SENTINEL_1, 1]);
    expect(tokenizer.decode(ids, { skipSpecialTokens: false })).toBe('a <extra_id_0> b<extra_id_1></s>');
    expect(tokenizer.decode(ids)).toBe('a  b');
    expect(tokenizer.decode([0, byte('x'), 2, 999, -100])).toBe('x \u2047 ');
  });

  it('maps tokens and ids both ways, bytes that are not whole UTF-8 as <0xHH>', () => {
    expect(tokenizer.tokenToId('the')).toBe(MERGE_RANK.the);
    expect(tokenizer.idToToken(MERGE_RANK[' in'])).toBe(' in');
    expect(tokenizer.tokenToId('<extra_id_0>')).toBe(SENTINEL_0);
    expect(tokenizer.idToToken(1)).toBe('</s>');
    expect(tokenizer.idToToken(0xe2 + BYTE_RANK_OFFSET)).toBe('<0xE2>');
    expect(tokenizer.tokenToId('<0xE2>')).toBe(0xe2 + BYTE_RANK_OFFSET);
    expect(tokenizer.idToToken(5000)).toBeUndefined();
  });

  it('rejects a vocabulary without every single byte, naming the rank file', () => {
    const bad = join(root, 'no-byte');
    mkdirSync(bad);
    writeTinyTiktokenTokenizer(bad);
    const ranks = readFileSync(join(bad, 'tokenizer.tiktoken'), 'utf8').split('\n');
    writeFileSync(join(bad, 'tokenizer.tiktoken'), ranks.filter((l) => !l.startsWith(`${Buffer.from('q').toString('base64')} `)).join('\n'));
    expectLoadError(() => loadTokenizer(bad), 'tokenizer.tiktoken', /all 256 single-byte tokens; byte 0x71/);
    writeFileSync(join(bad, 'tokenizer.tiktoken'), 'dGhl not-a-rank\n');
    expectLoadError(() => loadTokenizer(bad), 'tokenizer.tiktoken', /line 1: expected "<base64 token> <rank>"/);
  });

  it('rejects a bad tokenizer_config.json, naming it', () => {
    const bad = join(root, 'bad-config');
    mkdirSync(bad);
    writeTinyTiktokenTokenizer(bad, (c) => delete c.pat_str);
    expectLoadError(() => loadTokenizer(bad), 'tokenizer_config.json', /"pat_str" \(string\) is required/);
    writeTinyTiktokenTokenizer(bad, (c) => ((c.added_tokens_decoder as Record<string, unknown>)[100] = { content: '<x>' }));
    expectLoadError(() => loadTokenizer(bad), 'tokenizer_config.json', /"<x>" has id 100, which tokenizer.tiktoken also uses/);
    writeTinyTiktokenTokenizer(bad, (c) => (c.eos_token = '<eos>'));
    expectLoadError(() => loadTokenizer(bad), 'tokenizer_config.json', /eos_token "<eos>" is not in added_tokens_decoder/);
  });
});
