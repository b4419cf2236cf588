import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxToxicityScorer, toxicLabelIndex } from '../../eval/toxicity/onnx-toxicity-scorer.ts';
import { loadTokenizer } from '../../runtime/checkpoint/tokenizer.ts';
import { GraphBuilder } from '../../runtime/graph/graph-builder.ts';
import { attr, float32Tensor } from '../../runtime/graph/ir.ts';
import { serializeModel } from '../../runtime/graph/onnx-serialize.ts';
import { SHARED_BENCHMARKS } from './helpers/shared-benchmarks.ts';

const TOKENIZER_DIR = join(SHARED_BENCHMARKS, '..', 'fixtures', 't5-tokenizer');
const HAVE_TOKENIZER = existsSync(join(TOKENIZER_DIR, 'tokenizer.json'));
if (!HAVE_TOKENIZER) console.warn(`skipped: ${TOKENIZER_DIR} (the T5 tokenizer fixture) is absent; it ships beside the repository`);

/**
 * A two-label classifier small enough to compute by hand: each token embeds to logits [1, 0]
 * (clean) except the pieces of "idiot", which embed to [0, 4]; the sequence takes the elementwise
 * max over tokens. So a text with "idiot" has logits [1, 4], any other [1, 0].
 */
function writeClassifier(dir: string, vocabSize: number, toxicIds: number[], problemType?: string): void {
  const table = new Float32Array(vocabSize * 2);
  for (let id = 0; id < vocabSize; id++) table[id * 2] = 1;
  for (const id of toxicIds) table.set([0, 4], id * 2);
  const b = new GraphBuilder('toxicity');
  const ids = b.input('input_ids', 'int64', ['batch', 'sequence']);
  const embedding = b.initializer('embedding', float32Tensor([vocabSize, 2], table));
  const logits = b.op('ReduceMax', [b.gather(embedding, ids)], { axes: attr.ints([1]), keepdims: attr.int(0) });
  b.output(logits, 'logits', 'float32', ['batch', 2]);
  writeFileSync(join(dir, 'model.onnx'), serializeModel(b.build()));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ id2label: { 0: 'non-toxic', 1: 'toxic' }, ...(problemType ? { problem_type: problemType } : {}) }));
  copyFileSync(join(TOKENIZER_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
}

describe.skipIf(!HAVE_TOKENIZER)('local ONNX toxicity classifier', () => {
  let dir: string;
  let toxicIds: number[];
  let vocabSize: number;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'toxicity-onnx-'));
    const tokenizer = loadTokenizer(TOKENIZER_DIR);
    toxicIds = tokenizer.encode('idiot', { addEos: false });
    vocabSize = tokenizer.vocabSize;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Batched, the short texts are padded to the longest; the scores must not move.
  it('scores softmax(logits)[toxic] through the runtime session and tokenizer, batched or not', async () => {
    writeClassifier(dir, vocabSize, toxicIds);
    const texts = ['you are an idiot', 'what a lovely day', 'a long and otherwise harmless sentence that makes the batch wider than the rest'];
    const expectedToxic = Math.exp(4) / (Math.exp(1) + Math.exp(4));
    const expectedClean = Math.exp(0) / (Math.exp(1) + Math.exp(0));
    for (const batchSize of [1, 16]) {
      const scorer = await OnnxToxicityScorer.load(dir, { session: { device: 'cpu', threads: 1 }, batchSize });
      try {
        const scores = await scorer.score(texts);
        expect(scores[0]).toBeCloseTo(expectedToxic, 5);
        expect(scores[1]).toBeCloseTo(expectedClean, 5);
        expect(scores[2]).toBeCloseTo(expectedClean, 5);
      } finally {
        await scorer.close();
      }
    }
  });

  it('uses a sigmoid for multi-label classifiers', async () => {
    writeClassifier(dir, vocabSize, toxicIds, 'multi_label_classification');
    const scorer = await OnnxToxicityScorer.load(dir, { session: { device: 'cpu', threads: 1 } });
    try {
      const [toxic, clean] = await scorer.score(['you idiot', 'hello there']);
      expect(toxic).toBeCloseTo(1 / (1 + Math.exp(-4)), 5);
      expect(clean).toBeCloseTo(0.5, 5);
    } finally {
      await scorer.close();
    }
  });
});

describe('toxic label lookup', () => {
  it('finds the toxic label by name, else takes label 1 of two', () => {
    expect(toxicLabelIndex({ 0: 'toxic', 1: 'severe_toxic', 2: 'obscene' })).toBe(0);
    expect(toxicLabelIndex({ 0: 'non-toxic', 1: 'toxic' })).toBe(1);
    expect(toxicLabelIndex({ 0: 'LABEL_0', 1: 'LABEL_1' })).toBe(1);
  });
});
