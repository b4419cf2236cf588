import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { learnBpe, PRETOKENIZE_PATTERN, writeTiktokenVocabulary } from '../../finetune/data/bpe-vocab.ts';
import { generateMixture, generatePlainText } from '../../finetune/data/synthetic/index.ts';
import { TiktokenTokenizer } from '../../runtime/checkpoint/tiktoken-tokenizer.ts';

const dir = mkdtempSync(join(tmpdir(), 'bpe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const corpus = [...generatePlainText(1, 300), ...generateMixture({ seed: 1, perFamily: 10 }).map((e) => `${e.inputs} ${e.targets}`)];

describe('byte-level BPE learner', () => {
  const vocab = learnBpe(corpus, 700, 8);
  writeTiktokenVocabulary(dir, vocab);
  const tokenizer = TiktokenTokenizer.load(dir);

  it('writes a tiktoken vocabulary with T5 special ids and sentinels at the top', () => {
    expect(vocab.vocabSize).toBe(700);
    expect(tokenizer.vocabSize).toBe(700);
    expect([tokenizer.padId, tokenizer.eosId]).toEqual([0, 1]);
    expect(tokenizer.tokenToId('<unk>')).toBe(2);
    expect(tokenizer.tokenToId('<extra_id_0>')).toBe(699);
    expect(tokenizer.tokenToId('<extra_id_7>')).toBe(692);
  });

  it('round-trips text through TiktokenTokenizer, accents and unseen words included', () => {
    for (const text of ['Anna has 15 apples. How many?', '¿Cuántas galletas tiene Ben? Löse die Aufgabe.', 'zebra quokka 987654', 'a\n\nb  c']) {
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
    const ids = tokenizer.encode('The answer<extra_id_0> is 6.', { addEos: false });
    expect(ids).toContain(699);
    expect(tokenizer.decode(ids, { skipSpecialTokens: false })).toBe('The answer<extra_id_0> is 6.');
  });

  it('learns merges that shorten the corpus and splits numbers into groups of at most two digits', () => {
    const text = 'Reverse the order of these words: apple garden';
    expect(tokenizer.encode(text, { addEos: false }).length).toBeLessThan(text.length / 3);
    expect('What is 47 + 1234?'.match(new RegExp(PRETOKENIZE_PATTERN, 'gu'))).toEqual(['What', ' is', ' 47', ' +', ' 12', '34', '?']);
    expect(tokenizer.encode(' 1234', { addEos: false }).length).toBeGreaterThanOrEqual(2);
  });

  it('is deterministic', () => {
    expect(learnBpe(corpus, 700, 8).tokens).toEqual(vocab.tokens);
  });
});
