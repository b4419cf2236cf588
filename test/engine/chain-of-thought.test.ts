import { describe, expect, it } from 'vitest';
import { answerKey, buildCotPrompt, COT_TRIGGER, extractAnswer, voteAnswers } from '../../runtime/engine/chain-of-thought.ts';

describe('chain-of-thought prompts', () => {
  it('zero-shot places the trigger after the question, as Flan templates do', () => {
    expect(buildCotPrompt('  How many legs do 3 cats have? ', { mode: 'zero-shot' })).toBe(
      `Q: How many legs do 3 cats have?\nA: ${COT_TRIGGER}`,
    );
  });

  it('few-shot exemplars end with "So the answer is"', () => {
    const prompt = buildCotPrompt('What is 2 + 5?', {
      mode: 'few-shot',
      exemplars: [{ question: 'What is 1 + 1?', rationale: 'One plus one makes two', answer: '2' }],
    });
    expect(prompt).toBe('Q: What is 1 + 1?\nA: One plus one makes two. So the answer is 2.\n\nQ: What is 2 + 5?\nA:');
  });
});

describe('answer extraction', () => {
  const cases: [string, string | undefined][] = [
    ['Roger started with 5 balls. 2 cans of 3 tennis balls each is 6 tennis balls. 5 + 6 = 11. So the answer is 11.', '11'],
    ['There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have been 21 - 15 = 6. The answer is 6.', '6'],
    ['The total is $1,250.50 after tax. So the answer is $1,250.50.', '$1,250.50'],
    ['Let us check each option. Paris is in France. So the answer is (B).', '(B)'],
    ['"Wed" means Wednesday, and the next day is Thursday. So the answer is Thursday.', 'Thursday'],
    ['not ( True ) and ( True ) is False and True, which is False. So the answer is False.', 'False'],
    ['Each box holds 4. 3 boxes hold 12.', '12'],
    ['Options considered: (A) is wrong, (C) fits best.', '(C)'],
    ['I cannot tell.', undefined],
    ['Il a 3 pommes et en achète 4. 3 + 4 = 7. La réponse est 7.', '7'],
  ];
  it.each(cases)('%s', (text, answer) => {
    expect(extractAnswer(text)).toBe(answer);
  });
});

describe('self-consistency voting', () => {
  it('counts equivalent answers together and picks the majority', () => {
    const vote = voteAnswers(['11', '11.0', '12', '(b)', '1,1', undefined, '11']);
    expect(vote?.answer).toBe('11');
    expect(vote?.tally['11']).toBe(3);
    expect(vote?.share).toBeCloseTo(3 / 7);
  });

  it('option letters in any form are one answer', () => {
    expect(answerKey('(B)')).toBe(answerKey('b'));
    expect(answerKey('B.')).toBe('(B)');
    expect(answerKey('(B) Paris')).toBe('(B)');
    expect(answerKey('1,000')).toBe(answerKey('1000.0'));
  });

  it('ties go to the answer seen first; no answers, no vote', () => {
    expect(voteAnswers(['7', '8', '8', '7'])?.answer).toBe('7');
    expect(voteAnswers([undefined, undefined])).toBeUndefined();
  });
});
