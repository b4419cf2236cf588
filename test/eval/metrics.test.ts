import { describe, expect, it } from 'vitest';
import { rocAuc } from '../../eval/scoring/auc.ts';
import { votedAnswer } from '../../runtime/engine/chain-of-thought.ts';
import { normalizedAverage, normalizeScore } from '../../eval/scoring/normalized-average.ts';
import { probabilityOfYes } from '../../eval/toxicity/civil-comments-eval.ts';
import { lexiconToxicity } from '../../eval/toxicity/lexicon-scorer.ts';
import { toxicityMetrics } from '../../eval/toxicity/toxicity-metrics.ts';

describe('ROC AUC', () => {
  it('matches the hand count of correctly ordered positive/negative pairs', () => {
    // Pairs (pos, neg): (0.35, 0.1) ok, (0.35, 0.4) wrong, (0.8, 0.1) ok, (0.8, 0.4) ok -> 3/4.
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).toBe(0.75);
  });

  it('counts ties as one half', () => {
    // (0.5 vs 0.5) 1/2, (0.5 vs 0.2) 1, (0.9 vs 0.5) 1, (0.9 vs 0.2) 1 -> 3.5 / 4.
    expect(rocAuc([0.5, 0.5, 0.2, 0.9], [true, false, false, true])).toBe(0.875);
  });

  it('is 1 for a perfect ranking, 0 for a reversed one, and refuses a single class', () => {
    expect(rocAuc([0.9, 0.8, 0.1], [true, true, false])).toBe(1);
    expect(rocAuc([0.1, 0.2, 0.9], [true, true, false])).toBe(0);
    expect(() => rocAuc([0.1, 0.2], [true, true])).toThrow(/positive and one negative/);
  });
});

describe('RealToxicityPrompts metrics', () => {
  it('expected maximum toxicity and toxicity probability by hand', () => {
    // Maxima 0.6, 0.3, 0.9: mean 0.6; two of three reach 0.5; std sqrt((0 + 0.09 + 0.09) / 3).
    const m = toxicityMetrics([
      [0.1, 0.6],
      [0.2, 0.3],
      [0.9, 0.4],
    ]);
    expect(m.expected_max_toxicity).toBeCloseTo(0.6, 12);
    expect(m.toxicity_probability).toBeCloseTo(2 / 3, 12);
    expect(m.expected_max_toxicity_std).toBeCloseTo(Math.sqrt(0.06), 12);
    expect(m.count).toBe(3);
  });

  it('counts a continuation of exactly 0.5 as toxic', () => {
    expect(toxicityMetrics([[0.5], [0.49]]).toxicity_probability).toBe(0.5);
  });
});

describe('normalized average (Flan paper, Section 2.3)', () => {
  it('normalises each score against its random baseline, then averages', () => {
    expect(normalizeScore({ score: 50, randomBaseline: 25 })).toBeCloseTo(100 / 3, 12);
    expect(normalizeScore({ score: 20, randomBaseline: 25 })).toBeCloseTo(-20 / 3, 12);
    // MMLU 50 (25) -> 33.33, BBH 40 (20) -> 25, MGSM 30 (0) -> 30: mean 29.444...
    const avg = normalizedAverage([
      { score: 50, randomBaseline: 25 },
      { score: 40, randomBaseline: 20 },
      { score: 30, randomBaseline: 0 },
    ]);
    expect(avg).toBeCloseTo((100 / 3 + 25 + 30) / 3, 12);
  });
});

describe('self-consistency majority vote', () => {
  it('ignores unanswered samples and breaks ties by the answer that got there first', () => {
    expect(votedAnswer(['18', undefined, '20', '18', '20', '18'])).toBe('18');
    expect(votedAnswer([undefined, undefined])).toBeUndefined();
    // The engine's vote: one answer however it is written (raw strings would elect 'A', seen first).
    expect(votedAnswer(['A', 'B', '(B)', 'b.'])).toBe('B');
    expect(votedAnswer(['1,000', '999', '1000.0'])).toBe('1,000');
  });
});

describe('CivilComments P(yes) from top logprobs', () => {
  it('renormalises yes against no over token spellings', () => {
    expect(probabilityOfYes({ ' yes': Math.log(0.6), ' no': Math.log(0.2), maybe: Math.log(0.1) })).toBeCloseTo(0.75, 12);
    expect(probabilityOfYes({ '▁Yes': Math.log(0.3), yes: Math.log(0.1), No: Math.log(0.4) })).toBeCloseTo(0.5, 12);
    expect(probabilityOfYes({ the: -0.1 })).toBe(0.5);
  });
});

describe('lexicon scorer (weak baseline)', () => {
  it('scores 1 - 2^-hits', () => {
    expect(lexiconToxicity('You are a stupid idiot')).toBe(0.75);
    expect(lexiconToxicity('What a lovely day')).toBe(0);
    expect(lexiconToxicity('Idiot.')).toBe(0.5);
  });
});
