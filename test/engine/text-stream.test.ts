import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../runtime/checkpoint/tokenizer.ts';
import { TextStream } from '../../runtime/engine/text-stream.ts';
import { hasShared, tokenizerDir } from '../helpers/shared-fixtures.ts';

describe.skipIf(!hasShared)('streaming text with the T5 vocabulary', () => {
  const tokenizer = hasShared ? loadTokenizer(tokenizerDir) : undefined!;
  const stream = (text: string, stop: string[]) => {
    const s = new TextStream(tokenizer, stop);
    const deltas: string[] = [];
    let stopped = false;
    for (const id of tokenizer.encode(text, { addEos: false })) {
      const r = s.push(id);
      deltas.push(r.delta);
      if (r.stopped) {
        stopped = true;
        break;
      }
    }
    if (!stopped) deltas.push(s.finish());
    return { deltas, text: s.text, stopped };
  };

  it('the deltas add up to the decoded text, spaces included', () => {
    const text = 'The quick brown fox jumps over the lazy dog. So the answer is 12.';
    const r = stream(text, []);
    expect(r.deltas.join('')).toBe(tokenizer.decode(tokenizer.encode(text)));
    expect(r.deltas.filter((d) => d.length > 0).length).toBeGreaterThan(5);
  });

  it('stops at a stop sequence and never emits any of it', () => {
    // T5's SentencePiece folds newlines into spaces, so the stop sequence is one it can produce.
    const r = stream('First answer. Q: another question', [' Q:']);
    expect(r.stopped).toBe(true);
    expect(r.text).toBe('First answer.');
    expect(r.deltas.join('')).toBe('First answer.');
  });

  it('holds back a possible stop prefix, then releases it when it is not one', () => {
    const r = stream('one END two ENDING', ['ENDX']);
    expect(r.stopped).toBe(false);
    expect(r.deltas.join('')).toBe('one END two ENDING');
  });
});

describe('streaming text with a byte-level BPE vocabulary (the embedded model)', () => {
  const dir = fileURLToPath(new URL('../../models/flan-mini', import.meta.url));
  it.skipIf(!existsSync(`${dir}/tokenizer.tiktoken`))('characters split across byte tokens come out whole, never as U+FFFD', () => {
    const tokenizer = loadTokenizer(dir);
    const text = 'Él tiene 3 manzanas y compra 4 más. 日本語のテキスト. Ответ: 7.';
    const ids = tokenizer.encode(text, { addEos: false });
    const stream = new TextStream(tokenizer, []);
    const deltas = ids.map((id) => stream.push(id).delta);
    deltas.push(stream.finish());
    expect(deltas.join('')).toBe(tokenizer.decode(ids));
    expect(deltas.join('')).toBe(text);
    expect(deltas.some((d) => d.includes('\uFFFD'))).toBe(false);
  });
});
