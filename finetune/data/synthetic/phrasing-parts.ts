import { cross, type PhrasingParts } from './composed-phrasings.ts';

/**
 * What each family asks, in parts the frames of composed-phrasings.ts multiply into its trained
 * phrasings: verbs x objects x directions, whole questions, data-first requests. Words a held-out
 * phrasing is built on (tell, give, work out, solve, find, write, read, turn, total, ...) are left out
 * on purpose, so the held-out set keeps measuring phrasings the model never saw.
 */
const CALCULATE = ['compute', 'calculate', 'evaluate', 'determine'];
const WHAT_IS = ['What is', 'How much is', "What's"];

export const ADDITION_PARTS: PhrasingParts = {
  requests: [
    ...cross(CALCULATE, ['{a} plus {b}', '{a} + {b}', 'the sum of {a} and {b}', '{a} added to {b}']),
    ...cross(['add', 'add up', 'sum up'], ['{a} and {b}', 'the numbers {a} and {b}']),
    'add {a} to {b}',
  ],
  questions: [
    ...cross(WHAT_IS, ['{a} plus {b}?', '{a} + {b}?', 'the sum of {a} and {b}?', '{a} and {b} added together?', '{a} added to {b}?']),
    'How much do {a} and {b} make together?', '{a} plus {b} is?', '{a} + {b} is what?', 'What is the result of {a} + {b}?',
    'If I add {a} and {b}, what is the result?', 'What do {a} and {b} add up to?',
    'What is {a} more than {b}?', 'Answer this: {a} plus {b}',
    'Sum: {a} + {b}', '{a} and {b} together make what?', 'Adding {a} and {b} gives what number?',
    'Sam has {a} coins and gets {b} more coins. How many coins does Sam have now?', 'There are {a} birds and {b} more birds come. How many birds are there?',
    'A box holds {a} pens. We put in {b} more. How many pens are in the box?',
  ],
  dataFirst: { label: 'Numbers', slot: '{a} and {b}', requests: ['add them', 'add them up', 'sum them', 'compute their sum', 'calculate their sum'] },
};

export const SUBTRACTION_PARTS: PhrasingParts = {
  requests: [
    ...cross(CALCULATE, ['{a} minus {b}', '{a} - {b}', 'the difference between {a} and {b}', '{b} subtracted from {a}']),
    'subtract {b} from {a}', 'take {b} from {a}', 'take away {b} from {a}',
  ],
  questions: [
    ...cross(WHAT_IS, ['{a} minus {b}?', '{a} - {b}?', '{a} take away {b}?', '{b} less than {a}?']),
    'If you take {b} from {a}, how many are left?', '{a} minus {b} is?',
  ],
};

export const MULTIPLICATION_PARTS: PhrasingParts = {
  requests: [
    ...cross(CALCULATE, ['{a} times {b}', '{a} x {b}', '{a} * {b}', 'the product of {a} and {b}', '{a} multiplied by {b}']),
    ...cross(['multiply'], ['{a} by {b}', '{a} and {b}', '{a} with {b}', 'the numbers {a} and {b}']),
  ],
  questions: [
    ...cross(WHAT_IS, ['{a} times {b}?', '{a} x {b}?', '{a} * {b}?', '{a} multiplied by {b}?', 'the product of {a} and {b}?']),
    '{a} times {b} is?', 'How much are {a} lots of {b}?', 'What is the result of {a} x {b}?',
  ],
  dataFirst: { label: 'Numbers', slot: '{a} and {b}', requests: ['multiply them', 'compute their product', 'multiply them together'] },
};

const ASCENDING = ['', ' in ascending order', ' from smallest to largest', ' from least to greatest', ' in increasing order', ' from small to large', ' by size', ' in order of size'];
const NUMBER_OBJECTS = ['these numbers', 'the numbers', 'the following numbers', 'this list', 'the list', 'the values'];

export const SORT_NUMBERS_PARTS: PhrasingParts = {
  requests: cross(['sort', 'order', 'arrange', 'rank', 'reorder', 'organize'], [
    ...NUMBER_OBJECTS.flatMap((object) => ASCENDING.map((direction) => `${object}${direction}: {list}`)),
    ...ASCENDING.map((direction) => `{list}${direction}`),
  ]),
  questions: [
    'What is {list} in ascending order?', 'What order do {list} go in from small to large?', 'Can {list} be put in ascending order?',
    'If {list} were sorted, what would the list be?', 'What is {list} sorted from smallest to largest?', 'What are these numbers in increasing order: {list}?',
    'What is the sorted order of {list}?', 'Which order puts {list} from least to greatest?', 'What does {list} look like in ascending order?',
  ],
  dataFirst: {
    label: 'Numbers',
    slot: '{list}',
    requests: ['sort them', 'put them in ascending order', 'order them from smallest to largest', 'arrange them in increasing order', 'list them from least to greatest'],
  },
};

export const COUNT_WORDS_PARTS: PhrasingParts = {
  requests: [
    ...cross(['count', 'tally'], ['the words in {text}', 'the words in this sentence: {text}', 'the words in the text: {text}', 'the words of: {text}', 'the words: {text}']),
    ...cross(CALCULATE, ['the number of words in: {text}', 'the word count of: {text}', 'how many words are in: {text}', 'how many words there are in "{text}"']),
  ],
  questions: [
    'How many words are there in: {text}', 'How many words are there in "{text}"?', 'How many words does "{text}" have?',
    'How many words does this sentence contain: {text}', 'What is the number of words in: {text}', 'How many words make up "{text}"?',
    'What is the word count of "{text}"?', 'How many words in "{text}"?',
    'How many words do you see in: {text}', 'What number of words is in "{text}"?', '"{text}" has how many words?',
    'In "{text}", how many words are there?', 'Here is a sentence: {text}. How many words does it have?', 'Count: how many words in {text}?',
    'This is my sentence: "{text}". What is its word count?', 'How many words did the sentence "{text}" use?',
  ],
  dataFirst: { label: 'Words', slot: '{text}', requests: ['count them', 'count how many there are', 'say how many there are'] },
};

const WORD_OBJECTS = ['{words}', 'the words {words}', 'these words: {words}', 'the order of these words: {words}', 'the list: {words}', 'the sequence: {words}', 'the following words: {words}'];

export const REVERSE_WORDS_PARTS: PhrasingParts = {
  requests: [
    ...cross(['reverse', 'invert', 'flip', 'mirror'], WORD_OBJECTS),
    ...cross(['list', 'put', 'order', 'arrange', 'say', 'print', 'repeat'], [
      '{words} in reverse order', 'these words in reverse order: {words}', 'these words backwards: {words}', '{words} backwards', 'the words {words} in the opposite order',
      'these words the other way round: {words}', '{words} from right to left', '{words} with the final word first and the first word last',
    ]),
  ],
  questions: [
    'What is the reverse of {words}?', 'What is {words} backwards?', 'What are these words in reverse order: {words}?', 'What is the reversed order of {words}?',
    'What is {words} in the opposite order?', 'How does the list {words} go backwards?',
    'What is {words} the other way round?', 'If you flip {words}, what do you get?', 'How do the words {words} look in reverse?',
    'What comes out when {words} is reversed?', 'Can you say {words} backwards?',
  ],
  dataFirst: {
    label: 'Words',
    slot: '{words}',
    requests: ['reverse them', 'reverse their order', 'list them in reverse order', 'put them in reverse order', 'flip their order', 'say them backwards'],
  },
};
