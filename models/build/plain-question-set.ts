/**
 * 20 plainly phrased questions with their answers, as a new user would ask them (no CoT trigger, no
 * template): issue 22's six first, then other held-in families, held-out phrasings (never trained),
 * original templates and held-out families. plain-questions.ts asks them through a server for the
 * card; test/models/embedded-models.test.ts asks the first six through the engine.
 */
export interface PlainQuestion {
  kind: 'issue 22' | 'trained phrasing' | 'held-out phrasing' | 'original template' | 'held-out family';
  prompt: string;
  answer: string;
}

export const PLAIN_QUESTIONS: readonly PlainQuestion[] = [
  { kind: 'issue 22', prompt: 'What is 23 plus 45?', answer: '68' },
  { kind: 'issue 22', prompt: 'What is 7 times 8?', answer: '56' },
  { kind: 'issue 22', prompt: 'Is this review positive or negative? I loved it.', answer: 'positive' },
  { kind: 'issue 22', prompt: 'Sort these numbers: 9, 2, 7, 4', answer: '2, 4, 7, 9' },
  { kind: 'issue 22', prompt: 'Reverse the words: red green blue', answer: 'blue green red' },
  { kind: 'issue 22', prompt: 'How many words are in this sentence: the cat sat on the mat', answer: '6' },
  { kind: 'trained phrasing', prompt: 'What is 81 minus 27?', answer: '54' },
  { kind: 'trained phrasing', prompt: 'Is 37 even or odd?', answer: 'odd' },
  { kind: 'trained phrasing', prompt: 'What is the smallest of 42, 17, 88, 23?', answer: '17' },
  { kind: 'trained phrasing', prompt: 'Sort these words: pear, apple, dog', answer: 'apple, dog, pear' },
  { kind: 'trained phrasing', prompt: 'What is the last word of lamp river stone?', answer: 'stone' },
  { kind: 'held-out phrasing', prompt: 'Work out 6 x 9.', answer: '54' },
  { kind: 'held-out phrasing', prompt: 'Tell me the total of 34 and 19.', answer: '53' },
  { kind: 'held-out phrasing', prompt: 'Rearrange these from lowest to highest: 15 3 42 8', answer: '3, 8, 15, 42' },
  { kind: 'held-out phrasing', prompt: 'Turn the order around: cat dog bird', answer: 'bird dog cat' },
  { kind: 'held-out phrasing', prompt: 'Tell me if this opinion is positive or negative: The ending was awful.', answer: 'negative' },
  { kind: 'original template', prompt: 'What is the plural of "cherry"?', answer: 'cherries' },
  { kind: 'original template', prompt: 'Comment: You are a liar and should shut up.\nIs this comment toxic? Answer yes or no.', answer: 'yes' },
  { kind: 'held-out family', prompt: 'What is the largest number in this list: 4, 19, 7?', answer: '19' },
  { kind: 'held-out family', prompt: 'What is the first word in: apple tree house?', answer: 'apple' },
];
