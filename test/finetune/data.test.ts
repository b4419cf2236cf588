import { describe, expect, it } from 'vitest';
import { packBatch, padBatch, tokenizeExample } from '../../finetune/data/collate.ts';
import { splitHeldOut } from '../../finetune/data/held-out.ts';
import { DataFormatError, parseInstructionJsonl } from '../../finetune/data/instruction-example.ts';
import { TaskMixture } from '../../finetune/data/mixture.ts';
import { StepBatches } from '../../finetune/data/step-batches.ts';
import { DEFAULT_TEMPLATES, renderExample, VERBATIM } from '../../finetune/data/templates.ts';
import { COT_TRIGGER } from '../../runtime/engine/chain-of-thought.ts';
import { SeededRandom } from '../../runtime/seeded-random.ts';
import { charTokenizer } from './char-tokenizer.ts';

const ids = { pad: 0, eos: 1, decoderStart: 0 };

describe('instruction JSONL', () => {
  it('accepts inputs/targets, OpenAI chat and prompt/completion lines', () => {
    const text = [
      JSON.stringify({ inputs: 'What is 2+2?', targets: '4', rationale: '2 and 2 make 4.', task: 'math' }),
      '',
      JSON.stringify({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi?' }, { role: 'assistant', content: 'Hello.' }] }),
      JSON.stringify({ prompt: 'Translate: chat', completion: 'cat' }),
    ].join('\n');
    const examples = parseInstructionJsonl(text);
    expect(examples.map((e) => [e.task, e.inputs, e.targets, e.line])).toEqual([
      ['math', 'What is 2+2?', '4', 1],
      ['default', 'system: Be brief.\nuser: Hi?', 'Hello.', 3],
      ['default', 'Translate: chat', 'cat', 4],
    ]);
    expect(examples[0].rationale).toBe('2 and 2 make 4.');
  });

  it('reports every bad line by number before anything trains', () => {
    const text = ['{"inputs": "a", "targets": "b"}', '{"inputs": "a"', '[1]', '{"inputs": "x", "targets": ""}', '{"messages": [{"role": "user", "content": "q"}]}'].join('\n');
    try {
      parseInstructionJsonl(text, 'upload.jsonl');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DataFormatError);
      expect((err as DataFormatError).problems.map((p) => p.line)).toEqual([2, 3, 4, 5]);
      expect((err as Error).message).toMatch(/upload\.jsonl: 4 bad line\(s\)\n {2}line 2: not valid JSON/);
    }
  });
});

describe('Flan templates', () => {
  const examples = parseInstructionJsonl(
    [1, 2, 3].map((i) => JSON.stringify({ inputs: `q${i}`, targets: `a${i}`, rationale: `r${i}.`, task: 't' })).join('\n'),
  );

  it('renders chain of thought as the rationale then "So the answer is X."', () => {
    const r = renderExample(examples[0], examples, { templates: { t: ['Q: {inputs}\nA:'] } }, SeededRandom.fromSeed(1));
    expect(r.source).toBe(`Q: q1\nA: ${COT_TRIGGER}`);
    expect(r.target).toBe('r1. So the answer is a1.');
  });

  it('wraps unlisted tasks in the default Flan templates unless told to keep inputs verbatim', () => {
    const sources = (options: Parameters<typeof renderExample>[2]) =>
      new Set(Array.from({ length: 40 }, (_, i) => renderExample(examples[0], examples, { ...options, cotRate: 0 }, SeededRandom.fromSeed(i)).source));
    expect(sources({}).size).toBe(DEFAULT_TEMPLATES.length);
    expect(sources({ defaultTemplates: [VERBATIM] })).toEqual(new Set(['q1']));
    expect(sources({ defaultTemplates: [VERBATIM], templates: { t: ['T: {inputs}'] } })).toEqual(new Set(['T: q1']));
  });

  it('renders few-shot prompts with exemplars of the same task, never the example itself', () => {
    const r = renderExample(examples[0], examples, { templates: { t: ['{inputs} =>'] }, fewShotRate: 1, shots: 2, cotRate: 0 }, SeededRandom.fromSeed(3));
    const blocks = r.source.split('\n\n');
    expect(blocks).toHaveLength(3);
    expect(blocks[2]).toBe('q1 =>');
    expect(new Set(blocks.slice(0, 2))).toEqual(new Set(['q2 => a2', 'q3 => a3']));
    expect(r.target).toBe('a1');
  });
});

describe('mixture and split', () => {
  it('samples tasks in proportion to their size, capped per task', () => {
    const make = (task: string, n: number) => Array.from({ length: n }, (_, i) => ({ inputs: `${i}`, targets: 'x', task, line: i + 1 }));
    const mixture = new TaskMixture([...make('big', 100), ...make('small', 10)], 20);
    expect(mixture.rates()).toEqual({ big: 20 / 30, small: 10 / 30 });
    const rng = SeededRandom.fromSeed(5);
    let small = 0;
    for (let i = 0; i < 3000; i++) if (mixture.sample(rng).task === 'small') small++;
    expect(small / 3000).toBeGreaterThan(0.3);
    expect(small / 3000).toBeLessThan(0.37);
  });

  it('splits held-out examples deterministically and disjointly', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const a = splitHeldOut(items, 0.2, 9);
    expect(a).toEqual(splitHeldOut(items, 0.2, 9));
    expect(a.heldOut).toHaveLength(4);
    expect([...a.train, ...a.heldOut].sort((x, y) => x - y)).toEqual(items);
  });
});

describe('collation and packing', () => {
  const rendered = ['abc', 'de', 'fghij'].map((s, i) => ({ source: s, target: `${i}x`, task: 't' }));
  const tokenized = rendered.map((r) => tokenizeExample(charTokenizer, r, { maxSourceLength: 16, maxTargetLength: 8 }));

  it('pads rows and shifts labels right into decoder inputs', () => {
    const batch = padBatch(tokenized.slice(0, 2), ids);
    expect(batch.attentionMask).toEqual([[1, 1, 1, 1], [1, 1, 1, 0]]);
    expect(batch.decoderInputIds[0]).toEqual([0, ...tokenized[0].target.slice(0, -1)]);
    expect(batch.labels[1]).toEqual(tokenized[1].target);
  });

  it('packs examples into segments with restarting positions', () => {
    const { batch, used } = packBatch(tokenized, 1, { maxSourceLength: 16, maxTargetLength: 12 }, ids);
    expect(used).toBe(3);
    expect(batch.encoderSegmentIds![0]).toEqual([1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3]);
    expect(batch.encoderPositions![0]).toEqual([0, 1, 2, 3, 0, 1, 2, 0, 1, 2, 3, 4, 5]);
    expect(batch.decoderPositions![0]).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(batch.decoderInputIds[0].filter((_, i) => batch.decoderPositions![0][i] === 0)).toEqual([0, 0, 0]);
  });

  it('stops packing at the first example that fits in no row', () => {
    const { used } = packBatch(tokenized, 1, { maxSourceLength: 8, maxTargetLength: 12 }, ids);
    expect(used).toBe(2);
  });

  it('gives the same batches for the same step, different ones for another', () => {
    const examples = parseInstructionJsonl(['ab', 'cd', 'ef', 'gh'].map((s) => JSON.stringify({ inputs: s, targets: s })).join('\n'));
    const plan = { batchSize: 2, microBatches: 2, packed: true, maxSourceLength: 24, maxTargetLength: 8 };
    const source = new StepBatches(examples, charTokenizer, plan, ids, 11);
    expect(source.forStep(3)).toEqual(new StepBatches(examples, charTokenizer, plan, ids, 11).forStep(3));
    expect(source.forStep(3)).not.toEqual(source.forStep(4));
    expect(source.forStep(3)).toHaveLength(2);
  });
});
