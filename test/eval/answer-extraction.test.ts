import { describe, expect, it } from 'vitest';
import { bbhAnswerMatches, bbhRandomBaseline, extractBbhCotAnswer, extractBbhDirectAnswer } from '../../eval/scoring/bbh-answer.ts';
import { firstNumber, lastNumber, mgsmAnswerMatches } from '../../eval/scoring/mgsm-answer.ts';
import { extractMmluCotAnswer, extractMmluDirectAnswer } from '../../eval/scoring/mmlu-answer.ts';
import { exactMatch, normalizeAnswer, tokenF1 } from '../../eval/scoring/squad-metrics.ts';

describe('BBH answer extraction', () => {
  it.each([
    [
      'boolean_expressions',
      'Remember that (i) expressions inside brackets are always evaluated first.\nWe first simplify this expression "Z" as follows: "Z = not ( True ) and ( True ) = A and B" where "A = not ( True )" and "B = ( True )".\nLet\'s evaluate A: A = not ( True ) = False.\nPlugging in A and B, we get: Z = A and B = False and True = False. So the answer is False.',
      'False',
    ],
    [
      'date_understanding',
      'If today is Christmas Eve of 1937, then today\'s date is December 24, 1937. 10 days before today is December 14, 1937, that is 12/14/1937. So the answer is (D).',
      '(D)',
    ],
    ['dyck_languages', 'We should process each input one by one and keep track of the stack configuration.\n0: empty stack\n1: [ ; stack: [\nSo, we need "]", "}", "]". So the answer is ] } ].', '] } ]'],
    ['multistep_arithmetic_two', 'This equation can be written as "A * B", where A = (-5 + 9 * -4 - 0) = -41 and B = (4 + -7 + 0 * -5) = -3.\nSo, A * B = -41 * -3 = 123. So the answer is 123.', '123'],
    ['object_counting', 'We first identify the musical instruments: piano (1), flute (1), trombone (4). So the answer is 6.\n', '6'],
    ['sports_understanding', 'Santi Cazorla is a soccer player. Touchdown is part of American football and rugby. So the answer is no.', 'no'],
    ['word_sorting', 'The first letter: "oven": "o" (15). "costume": "c" (3). So the answer is costume counterpart oven.', 'costume counterpart oven'],
  ])('%s: the answer after "So the answer is"', (_task, output, answer) => {
    expect(extractBbhCotAnswer(output)).toBe(answer);
  });

  it('takes the last statement of an answer and keeps a decimal point', () => {
    expect(extractBbhCotAnswer('Maybe the answer is (A). On reflection, the answer is (C).')).toBe('(C)');
    expect(extractBbhCotAnswer('(-7 / 2) = -3.5. So the answer is -3.5.')).toBe('-3.5');
  });

  it('finds no answer in reasoning that never commits to one', () => {
    expect(extractBbhCotAnswer("Let's see. Vina Fernandes is a Portuguese footballer, and the NFC championship is")).toBeNull();
  });

  it('direct outputs are the first line, without the closing period', () => {
    expect(extractBbhDirectAnswer(' (A)\n\nQ: another question')).toBe('(A)');
    expect(extractBbhDirectAnswer('Yes.')).toBe('Yes');
    expect(extractBbhDirectAnswer('  \n')).toBeNull();
  });

  it('scores exact match, reading "(B) text" and "B" as option (B) but nothing looser', () => {
    expect(bbhAnswerMatches('(B)', '(B)')).toBe(true);
    expect(bbhAnswerMatches('(B) 05/01/2021', '(B)')).toBe(true);
    expect(bbhAnswerMatches('B', '(B)')).toBe(true);
    expect(bbhAnswerMatches('(C)', '(B)')).toBe(false);
    expect(bbhAnswerMatches('Bob', '(B)')).toBe(false);
    expect(bbhAnswerMatches('yes', 'Yes')).toBe(false);
    expect(bbhAnswerMatches('] } ]', '] } ]')).toBe(true);
    expect(bbhAnswerMatches(null, 'False')).toBe(false);
  });

  it('has a random baseline of one over the options, one half for unlisted binary labels, 0 for free-form', () => {
    const sevenOptions = 'Which is first?\nOptions:\n(A) a\n(B) b\n(C) c\n(D) d\n(E) e\n(F) f\n(G) g';
    expect(bbhRandomBaseline(sevenOptions, new Set(['(A)', '(B)']))).toBeCloseTo(1 / 7);
    expect(bbhRandomBaseline('Is the argument valid?\nOptions:\n- valid\n- invalid', new Set(['valid', 'invalid']))).toBe(0.5);
    expect(bbhRandomBaseline('not ( True ) is', new Set(['True', 'False']))).toBe(0.5);
    expect(bbhRandomBaseline('Sort: b a c', new Set(['a b c', 'x y', 'p q r']))).toBe(0);
  });
});

describe('MGSM answer extraction: the final number', () => {
  it.each([
    ['en', "Janet's ducks lay 16 eggs per day. She eats 3 and bakes with 4, so she uses 3 + 4 = 7. 16 - 7 = 9 eggs are left. 9 * 2 = 18. The answer is 18.", '18'],
    ['de', 'Janets Enten legen 16 Eier pro Tag. Sie verbraucht 3 + 4 = 7. 16 - 7 = 9. 9 * 2 = 18. Die Antwort lautet 18.', '18'],
    ['zh', '珍妮特的鸭子每天下 16 个蛋。16 - 3 - 4 = 9。9 * 2 = 18。答案是 18。', '18'],
    ['bn', 'জ্যানেটের হাঁস প্রতিদিন 16টি ডিম পাড়ে। 16 - 7 = 9। 9 * 2 = 18। উত্তর হল 18।', '18'],
    ['en, separators', 'He pays 1,000 + 250 = 1,250 dollars. The answer is 1,250.', '1250'],
    ['en, decimals', 'Each costs $2.50, so 4 cost $10.00. The answer is $10.00.', '10'],
    ['en, negative', 'The temperature falls to -4 degrees. The answer is -4.', '-4'],
  ])('%s', (_lang, output, answer) => {
    expect(lastNumber(output)).toBe(answer);
  });

  it('compares numerically against golds with separators', () => {
    expect(mgsmAnswerMatches('2125', '2,125')).toBe(true);
    expect(mgsmAnswerMatches('18', '18')).toBe(true);
    expect(mgsmAnswerMatches('17', '18')).toBe(false);
    expect(mgsmAnswerMatches(null, '18')).toBe(false);
  });

  it("zero-shot CoT's second stage takes the first number", () => {
    expect(firstNumber(' 18 dollars, since 9 eggs at $2 each.')).toBe('18');
    expect(firstNumber(' unclear')).toBeNull();
  });
});

describe('MMLU answer extraction: the option letter', () => {
  it('direct: the letter the output starts with', () => {
    expect(extractMmluDirectAnswer(' B')).toBe('B');
    expect(extractMmluDirectAnswer(' (C) Jupiter')).toBe('C');
    expect(extractMmluDirectAnswer('D. Its distance from you')).toBe('D');
    expect(extractMmluDirectAnswer(' Because the surface is oxidized')).toBeNull();
  });

  it('CoT: the letter after "the answer is", in the style of the Flan MMLU CoT exemplars', () => {
    const output =
      'Jupiter is a gas giant. Its mass is about 318 times that of Earth, larger than all other planets combined. Among the options, Jupiter is the largest. The answer is (C).';
    expect(extractMmluCotAnswer(output)).toBe('C');
    expect(extractMmluCotAnswer('So the answer is: a. I mean the answer is B.')).toBe('B');
    expect(extractMmluCotAnswer('It is Jupiter.')).toBeNull();
  });
});

describe('TyDiQA: SQuAD normalised exact match and F1', () => {
  it('normalises case, punctuation, articles and spaces', () => {
    expect(normalizeAnswer('  The Amazon   River! ')).toBe('amazon river');
    expect(exactMatch('the amazon river.', ['The Amazon River'])).toBe(1);
    expect(exactMatch('Amazon', ['The Amazon River'])).toBe(0);
  });

  it('F1 over tokens, best over gold answers', () => {
    // pred "volume of water" vs gold "discharge volume of water": P = 3/3, R = 3/4, F1 = 6/7.
    expect(tokenF1('volume of water', ['discharge volume of water'])).toBeCloseTo(6 / 7, 10);
    expect(tokenF1('mwaka 1899', ['1899', 'mwaka 1899'])).toBe(1);
    expect(tokenF1('Nairobi', ['Mombasa'])).toBe(0);
  });
});
