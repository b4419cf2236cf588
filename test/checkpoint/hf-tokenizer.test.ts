import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTokenizer, type Tokenizer } from '../../runtime/checkpoint/tokenizer.ts';
import { expectLoadError, hasFixtures, t5TokenizerDir, tempDir } from './fixture-paths.ts';

interface ExpectedCase {
  text: string;
  ids: number[];
  pieces: string[];
  decoded: string;
}

describe.skipIf(!hasFixtures)('HF tokenizer.json (T5 / Flan-T5 vocabulary)', () => {
  const tokenizer: Tokenizer = hasFixtures ? loadTokenizer(t5TokenizerDir) : (undefined as never);
  const cases: ExpectedCase[] = hasFixtures
    ? JSON.parse(readFileSync(join(t5TokenizerDir, 'expected-ids.json'), 'utf8')).cases
    : [];

  it('knows the T5 special ids and vocabulary size', () => {
    expect(tokenizer.padId).toBe(0);
    expect(tokenizer.eosId).toBe(1);
    expect(tokenizer.vocabSize).toBe(32100);
    expect(tokenizer.tokenToId('</s>')).toBe(1);
    expect(tokenizer.idToToken(2)).toBe('<unk>');
    expect(tokenizer.tokenToId('▁translate')).toBe(13959);
    expect(tokenizer.tokenToId('no such piece')).toBeUndefined();
    expect(tokenizer.idToToken(99999)).toBeUndefined();
  });

  it('encodes every sentencepiece reference case, appending </s> by default', () => {
    expect(cases.length).toBeGreaterThan(10);
    for (const c of cases) {
      expect(tokenizer.encode(c.text), c.text).toEqual([...c.ids, 1]);
      expect(tokenizer.encode(c.text, { addEos: false }), c.text).toEqual(c.ids);
      expect(c.ids.map((id) => tokenizer.idToToken(id)), c.text).toEqual(c.pieces.map((p, i) => (c.ids[i] === 2 ? '<unk>' : p)));
    }
  });

  it('decodes every reference case to sentencepiece\'s text, unknown pieces as " ⁇ "', () => {
    for (const c of cases) {
      expect(tokenizer.decode([...c.ids, 1]), c.text).toBe(c.decoded);
    }
  });

  it('encodes and decodes the sentinels <extra_id_0>..<extra_id_99> as single special tokens', () => {
    expect(tokenizer.tokenToId('<extra_id_0>')).toBe(32099);
    expect(tokenizer.tokenToId('<extra_id_99>')).toBe(32000);
    const ids = tokenizer.encode('The <extra_id_0> walks in <extra_id_1> park');
    expect(ids.filter((id) => id >= 32000)).toEqual([32099, 32098]);
    expect(tokenizer.decode(ids, { skipSpecialTokens: false })).toBe('The<extra_id_0> walks in<extra_id_1> park</s>');
    expect(tokenizer.decode(ids)).toBe('The walks in park');
    for (let n = 0; n < 100; n++) {
      expect(tokenizer.encode(`<extra_id_${n}>`, { addEos: false })).toEqual([32099 - n]);
      expect(tokenizer.idToToken(32099 - n)).toBe(`<extra_id_${n}>`);
    }
  });

  it('decodes what a model emits: pads, ids past the tokenizer, empty output', () => {
    expect(tokenizer.decode([0, 8774, 1, 0, 0])).toBe('Hello');
    expect(tokenizer.decode([0, 8774, 1], { skipSpecialTokens: false })).toBe('<pad> Hello</s>');
    expect(tokenizer.decode([8774, 32127, -100])).toBe('Hello'); // T5's unused embedding rows, ignored labels
    expect(tokenizer.decode([])).toBe('');
    expect(tokenizer.encode('')).toEqual([1]);
  });
});

describe('loadTokenizer without a tokenizer', () => {
  const empty = tempDir();

  it('names tokenizer.json and says what it looked for', () => {
    expectLoadError(() => loadTokenizer(empty), 'tokenizer.json', /no tokenizer found.*tokenizer.tiktoken/);
  });
});
