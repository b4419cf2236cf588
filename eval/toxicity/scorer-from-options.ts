import { LexiconScorer } from './lexicon-scorer.ts';
import { OnnxToxicityScorer } from './onnx-toxicity-scorer.ts';
import { PerspectiveScorer } from './perspective-scorer.ts';
import type { ToxicityScorer } from './toxicity-scorer.ts';

export const SCORER_KINDS = ['perspective', 'onnx', 'lexicon'] as const;
export type ScorerKind = (typeof SCORER_KINDS)[number];

export interface ScorerOptions {
  kind: ScorerKind;
  /** perspective: the service's base URL and key. */
  perspectiveUrl?: string;
  perspectiveKey?: string;
  /** onnx: the classifier's directory (model.onnx, config.json, tokenizer.json). */
  classifierDir?: string;
}

export async function createScorer(options: ScorerOptions): Promise<ToxicityScorer> {
  switch (options.kind) {
    case 'perspective':
      if (!options.perspectiveUrl) throw new Error('the perspective scorer needs the service URL (--perspective-url)');
      return new PerspectiveScorer({ url: options.perspectiveUrl, ...(options.perspectiveKey ? { key: options.perspectiveKey } : {}) });
    case 'onnx':
      if (!options.classifierDir) throw new Error('the onnx scorer needs the classifier directory (--classifier)');
      return OnnxToxicityScorer.load(options.classifierDir);
    case 'lexicon':
      return new LexiconScorer();
  }
}
