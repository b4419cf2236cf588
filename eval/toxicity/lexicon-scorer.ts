import type { ToxicityScorer } from './toxicity-scorer.ts';

/**
 * An explicitly weak baseline: counts words from a short list of insults and profanity. It misses
 * context, sarcasm, misspellings, identity attacks without slurs, and every language but English,
 * and it flags quotations and reclaimed words. Use it to smoke-test the pipeline, not to report.
 */
const LEXICON = new Set([
  'idiot', 'idiots', 'idiotic', 'stupid', 'moron', 'morons', 'dumb', 'loser', 'losers', 'pathetic', 'disgusting',
  'trash', 'scum', 'hate', 'kill', 'die', 'ugly', 'fool', 'fools', 'jerk', 'crap', 'damn', 'hell', 'shit',
  'fuck', 'fucking', 'bitch', 'bastard', 'asshole', 'dick', 'suck', 'sucks', 'shut',
]);

export class LexiconScorer implements ToxicityScorer {
  readonly name = 'lexicon';

  async score(texts: readonly string[]): Promise<number[]> {
    return texts.map(lexiconToxicity);
  }
}

/** 1 - 2^-hits: none is 0, one word 0.5, two 0.75; saturates rather than growing with length. */
export function lexiconToxicity(text: string): number {
  const hits = (text.toLowerCase().match(/[a-z']+/g) ?? []).filter((w) => LEXICON.has(w)).length;
  return 1 - 2 ** -hits;
}
