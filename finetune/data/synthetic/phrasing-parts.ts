import { cross, type PhrasingParts } from './composed-phrasings.ts';

/**
 * What each family asks, in parts the frames of composed-phrasings.ts multiply into its trained
 * phrasings: verbs x objects x directions, whole questions, data-first requests. Up to stage 4 the
 * words a held-out phrasing is built on (tell, give, work out, find, write, read, total, end, ...)
 * were left out; stage 4's errors were almost all those words read as another family ("the total
 * of" answered with an operand, "from the end" as the last word), so stage 5 adds them as everyday
 * vocabulary shared by the families (ASK_VERBS). No held-out template itself is trained: the split
 * test checks every one.
 */
const CALCULATE = ['compute', 'calculate', 'evaluate', 'determine'];
const WHAT_IS = ['What is', 'How much is', "What's"];
/** Verbs any user asks with, whatever the family; each family crosses them with its own objects. */
const ASK_VERBS = ['tell me', 'give me', 'work out', 'figure out', 'find', 'write down', 'show me', 'read out', 'let me see'];

/**
 * Little stories of a sum: who has {a}, what brings {b} more, how the question is put. Plain users
 * ask sums this way, and a story of numbers read as a list of them is answered as a sort.
 */
const STORY_SUMS = cross(
  cross(['Sam has {a} apples', 'Mia had {a} stickers', 'You have {a} marbles', 'We had {a} cards', 'I own {a} books', 'A shop has {a} hats'],
    ['and gets {b} more.', 'and then finds {b} more.', 'and buys {b} more.', 'and is given {b} more.', 'and wins {b} more.']),
  ['How many now?', 'How many altogether?', 'How many are there now?', 'How many does that make?', 'What is the new amount?'],
);
/** Stage 5: stories told in the first person and asked "in all" / "in total", which stage 4 read as a review or a list. */
const TOLD_SUMS = cross(
  cross(['I have {a} shells', 'I had {a} coins', "I've got {a} stamps", 'Tom has {a} toys', 'There are {a} cars', 'Our class has {a} pupils', 'She collected {a} plums'],
    [', then {b} more arrive.', ' and later {b} more come.', '. Then I am handed {b} more.', ', and another {b} are added.', '. After that, {b} more turn up.']),
  ['How many in all?', 'How many in total?', 'What is the total?', 'How many is that altogether?', 'What is the count in all now?', 'What do they come to?'],
);

export const ADDITION_PARTS: PhrasingParts = {
  requests: [
    ...cross(CALCULATE, ['{a} plus {b}', '{a} + {b}', 'the sum of {a} and {b}', '{a} added to {b}']),
    ...cross(['add', 'add up', 'sum up'], ['{a} and {b}', 'the numbers {a} and {b}']),
    'add {a} to {b}',
    // "tell me" is left off "the total of": under the frame "<r>." it would be a held-out phrasing itself.
    ...cross(ASK_VERBS.filter((v) => v !== 'tell me'), ['the total of {a} and {b}', 'the sum of {a} and {b}', 'the result of {a} plus {b}', 'what {a} and {b} come to']),
    ...cross(['tell me', 'figure out', 'find', 'show me'], ['{a} plus {b}', 'what {a} plus {b} is', 'the total when {a} and {b} are put together']),
  ],
  questions: [
    ...cross(WHAT_IS, ['{a} plus {b}?', '{a} + {b}?', 'the sum of {a} and {b}?', '{a} and {b} added together?', '{a} added to {b}?']),
    'How much do {a} and {b} make together?', '{a} plus {b} is?', '{a} + {b} is what?', 'What is the result of {a} + {b}?',
    'If I add {a} and {b}, what is the result?', 'What do {a} and {b} add up to?',
    'What is {a} more than {b}?', 'Answer this: {a} plus {b}',
    'Sum: {a} + {b}', '{a} and {b} together make what?', 'Adding {a} and {b} gives what number?',
    'Sam has {a} coins and gets {b} more coins. How many coins does Sam have now?', 'There are {a} birds and {b} more birds come. How many birds are there?',
    'A box holds {a} pens. We put in {b} more. How many pens are in the box?',
    ...STORY_SUMS,
    ...TOLD_SUMS,
    ...cross(['What is the total of', 'What total do you get from', 'Which number is the total of'], ['{a} and {b}?', '{a} plus {b}?']),
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
    // Without "tell me" and "find", which would make held-out phrasings ("Find {a} times {b}.") under the frame "<r>.".
    ...cross(ASK_VERBS.filter((v) => v !== 'tell me' && v !== 'find'), ['the product of {a} and {b}', 'what {a} times {b} is', 'the result of {a} multiplied by {b}']),
  ],
  questions: [
    ...cross(WHAT_IS, ['{a} times {b}?', '{a} x {b}?', '{a} * {b}?', '{a} multiplied by {b}?', 'the product of {a} and {b}?']),
    '{a} times {b} is?', 'How much are {a} lots of {b}?', 'What is the result of {a} x {b}?',
  ],
  dataFirst: { label: 'Numbers', slot: '{a} and {b}', requests: ['multiply them', 'compute their product', 'multiply them together'] },
};

const ASCENDING = [
  ' in ascending order', ' from smallest to largest', ' from least to greatest', ' in increasing order', ' from small to large', ' by size', ' in order of size',
  // Directions that name only the small end: with them a request is still a sort, not "the smallest" (min_of_list).
  ' starting with the smallest', ' beginning with the least', ' from low to high', ' with the smallest number at the front', ' from the tiniest upward',
  ' smallest to biggest', ' in rising order', ' going up in size', ' least to most',
  // Stage 5: "smallest" / "lowest" said with a way up and all the numbers, not only the small end.
  ' from the smallest one to the largest one', ' from the lowest up to the highest', ' from the bottom up', ' working up from the lowest',
  ' lowest first, then upward', ' from small numbers to big ones', ' every number from low to high',
];
const NUMBER_OBJECTS = ['these numbers', 'the numbers', 'the following numbers', 'this list', 'the list', 'the values', 'my numbers', 'these values', 'this set of numbers'];
/** Verbs that order by themselves ("sort {list}"), and verbs that only do with a direction ("list {list} in ascending order"). */
const SORT_VERBS = ['sort', 'order', 'arrange', 'rank', 'reorder', 'organize'];
const PRESENT_VERBS = [
  'put', 'list', 'place', 'line up', 'lay out', 'show', 'print', 'output', 'return', 'present', 'display', 'restate',
  // "give me" is left out: under the frame "<r>, please." it would be a held-out phrasing itself.
  'write', 'write out', 'write down', 'tell me', 'read out', 'copy out', 'let me see',
];
const sortObjects = (directions: readonly string[]) => [
  ...NUMBER_OBJECTS.flatMap((object) => directions.map((direction) => `${object}${direction}: {list}`)),
  ...directions.map((direction) => `{list}${direction}`),
];

export const SORT_NUMBERS_PARTS: PhrasingParts = {
  requests: [...cross(SORT_VERBS, sortObjects(['', ...ASCENDING])), ...cross(PRESENT_VERBS, sortObjects(ASCENDING))],
  questions: [
    'What is {list} in ascending order?', 'What order do {list} go in from small to large?', 'Can {list} be put in ascending order?',
    'If {list} were sorted, what would the list be?', 'What is {list} sorted from smallest to largest?', 'What are these numbers in increasing order: {list}?',
    'What is the sorted order of {list}?', 'Which order puts {list} from least to greatest?', 'What does {list} look like in ascending order?',
    ...cross(['What is', 'Show me', 'What would be'], ['{list} starting with the smallest?', 'the order of {list} going up?', '{list} from low to high?', '{list} put in rising order?']),
  ],
  dataFirst: {
    label: 'Numbers',
    slot: '{list}',
    requests: [
      'sort them', 'put them in ascending order', 'order them from smallest to largest', 'arrange them in increasing order', 'list them from least to greatest',
      'show them starting with the smallest', 'line them up from low to high', 'put them in rising order',
    ],
  },
};

/**
 * Where the counted words are, in the words of a request: the text a worked count copies is only
 * the data, never these words around it ("in", "the", "sentence" copied in were stage 3's errors).
 */
const COUNTED_IN = [
  'in this line', 'in this phrase', 'in my message', 'in the passage below', 'in this snippet', 'used in this sentence', 'contained in the sentence',
  'present in this text', 'in the quote', 'in the string', 'in this little sentence', 'on this line',
];

/** Stage 5: the text pointed at as users do ("the following sentence"); "the following" had read as a reversal. */
const COUNTED_TEXT = ['the following sentence', 'the following line', 'the following words', 'the text below', 'this passage', 'this text'];
/** Stage 5: the counted text quoted mid-message, then asked about. */
const QUOTED_COUNTS = cross(
  ['I typed "{text}".', 'My friend wrote "{text}".', 'She said "{text}".', 'The sign says "{text}".', 'Here is what I wrote: "{text}".'],
  ['How many words is that?', 'How many words are in it?', 'Count its words.', 'What is its word count?', 'How many words did that take?'],
);

export const COUNT_WORDS_PARTS: PhrasingParts = {
  requests: [
    ...cross(ASK_VERBS, COUNTED_TEXT.flatMap((text) => [`the number of words in ${text}: {text}`, `the word count of ${text}: {text}`, `how many words are in ${text}: {text}`])),
    ...cross(['count', 'tally', 'count up'], [
      'the words in {text}', 'the words in this sentence: {text}', 'the words in the text: {text}', 'the words of: {text}', 'the words: {text}',
      ...COUNTED_IN.map((where) => `the words ${where}: {text}`), ...COUNTED_IN.map((where) => `the words ${where} "{text}"`),
    ]),
    ...cross(CALCULATE, [
      'the number of words in: {text}', 'the word count of: {text}', 'how many words are in: {text}', 'how many words there are in "{text}"',
      ...COUNTED_IN.map((where) => `how many words are ${where}: {text}`), ...COUNTED_IN.map((where) => `the number of words ${where} "{text}"`),
    ]),
  ],
  questions: [
    'How many words are there in: {text}', 'How many words are there in "{text}"?', 'How many words does "{text}" have?',
    'How many words does this sentence contain: {text}', 'What is the number of words in: {text}', 'How many words make up "{text}"?',
    'What is the word count of "{text}"?', 'How many words in "{text}"?',
    'How many words do you see in: {text}', 'What number of words is in "{text}"?', '"{text}" has how many words?',
    'In "{text}", how many words are there?', 'Here is a sentence: {text}. How many words does it have?', 'Count: how many words in {text}?',
    'This is my sentence: "{text}". What is its word count?', 'How many words did the sentence "{text}" use?',
    ...cross(['How many words are', 'What number of words is', 'Count the words'], COUNTED_IN.map((where) => `${where}? {text}`)),
    ...cross(['What is the word count?', 'Word count, please?', 'How many words here?', 'Can you count these words?', 'Number of words?'], ['{text}', '"{text}"']),
    ...COUNTED_IN.map((where) => `"{text}" - how many words are ${where}?`),
    ...QUOTED_COUNTS,
    ...cross(['What is the length in words of', 'How many words long is', 'Counted in words, how long is'], ['this: {text}', 'the following: {text}', 'this sentence? {text}', '"{text}"?']),
  ],
  dataFirst: { label: 'Words', slot: '{text}', requests: ['count them', 'count how many there are', 'say how many there are'] },
};

const WORD_OBJECTS = ['{words}', 'the words {words}', 'these words: {words}', 'the order of these words: {words}', 'the list: {words}', 'the sequence: {words}', 'the following words: {words}'];

export const REVERSE_WORDS_PARTS: PhrasingParts = {
  requests: [
    ...cross(['reverse', 'invert', 'flip', 'mirror'], WORD_OBJECTS),
    ...cross(['list', 'put', 'order', 'arrange', 'say', 'print', 'repeat', 'show', 'output', 'return', 'recite', 'rewrite', 'go through', 'display'], [
      '{words} in reverse order', 'these words in reverse order: {words}', 'these words backwards: {words}', '{words} backwards', 'the words {words} in the opposite order',
      'these words the other way round: {words}', '{words} from right to left', '{words} with the final word first and the first word last',
      'every word of {words}, beginning with the final one', 'all the words from back to front: {words}', '{words} from the final word to the first word',
      'each word, the final one first: {words}', 'the words {words} in backward order', 'these words in reversed sequence: {words}',
    ]),
    // Stage 5: "the end" and "the last word" said of every word, so they stop meaning only the last word (last_word).
    ...cross([...ASK_VERBS, 'read', 'write', 'say', 'list', 'name'], [
      '{words} starting at the end', '{words} from last to first', 'every word of {words}, beginning with the last one', 'all of {words}, last word first',
      'the words {words} from the end back to the beginning', 'each of these words, starting from the end: {words}', '{words} from the back to the front',
    ]),
  ],
  questions: [
    'What is the reverse of {words}?', 'What is {words} backwards?', 'What are these words in reverse order: {words}?', 'What is the reversed order of {words}?',
    'What is {words} in the opposite order?', 'How does the list {words} go backwards?',
    'What is {words} the other way round?', 'If you flip {words}, what do you get?', 'How do the words {words} look in reverse?',
    'What comes out when {words} is reversed?', 'Can you say {words} backwards?',
    'What is the order of {words} if you begin at the final word?', 'How do {words} go from back to front?', 'What is {words} with every word in backward order?',
    'What is {words} read from the end?', 'How does {words} go if you begin at the end and say every word?', 'What do all the words {words} give, last word first?',
  ],
  dataFirst: {
    label: 'Words',
    slot: '{words}',
    requests: ['reverse them', 'reverse their order', 'list them in reverse order', 'put them in reverse order', 'flip their order', 'say them backwards'],
  },
};

/**
 * One number or one word out of a list, asked in as many ways as sorting and reversal are: with
 * only a handful of phrasings each, "lowest" or "final" in an unfamiliar request read as a sort or
 * a reversal once those families had hundreds (stage 4's first 2,100 steps: 80 -> 52% and 67 -> 62%).
 */
export const MIN_OF_LIST_PARTS: PhrasingParts = {
  requests: cross(['find', 'choose', 'select', 'identify', 'point out', 'show', 'return', 'state'], [
    'the smallest number in {list}', 'the smallest of {list}', 'the lowest number among {list}', 'the minimum of {list}', 'the least value in {list}',
    'the one smallest number: {list}', 'the minimum: {list}', 'the smallest value from {list}', 'only the lowest number: {list}',
  ]).concat(cross(ASK_VERBS, ['just the smallest number in {list}', 'only the lowest of {list}', 'the single least value: {list}'])),
  questions: [
    ...cross(['Which', 'What'], ['number in {list} is the smallest?', 'is the lowest value in {list}?', 'is the minimum of {list}?', 'one of {list} is the lowest?']),
    'Smallest number in {list}?', 'Lowest of {list}?', 'Among {list}, which is the smallest?', 'What is the single smallest number of {list}?',
  ],
  dataFirst: { label: 'Numbers', slot: '{list}', requests: ['find the smallest one', 'say which is the smallest', 'choose the lowest', 'state the minimum'] },
};

export const LAST_WORD_PARTS: PhrasingParts = {
  requests: cross(['say', 'find', 'identify', 'show', 'return', 'state', 'select', 'repeat'], [
    'the last word of {words}', 'the last word in: {words}', 'the final word of {words}', 'the word that comes last in {words}', 'only the last word: {words}',
    'the closing word of {words}', 'just the final word: {words}',
  ]).concat(cross(ASK_VERBS, ['just the word at the end of {words}', 'only the one word at the end: {words}', 'the single last word of {words}'])),
  questions: [
    'Which word is last in {words}?', 'What is the final word of {words}?', 'What is the closing word of {words}?', 'Which word ends the list {words}?',
    'What word comes at the end of {words}?', 'Which is the last of {words}?', 'Which single word closes {words}?',
  ],
  dataFirst: { label: 'Words', slot: '{words}', requests: ['say the last one', 'find the final word', 'say which word comes last'] },
};

/**
 * Stage 5: an opinion reported or quoted, then asked about; stage 4 called short complaints quoted
 * that way ("Never again.") positive. Sentiment had only its listed phrasings until then.
 */
export const SENTIMENT_PARTS: PhrasingParts = {
  requests: cross(['classify', 'label', 'judge', 'mark'], [
    'this review as positive or negative: {text}', 'the comment "{text}" as positive or negative', 'the following opinion as positive or negative: {text}',
    'what someone said as positive or negative: "{text}"',
  ]),
  questions: cross(['A viewer said "{text}"', 'My friend wrote: "{text}"', 'Comment: {text}', 'Someone posted this: {text}', 'Overheard after the film: "{text}"'], [
    'Positive or negative?', 'Was that positive or negative?', 'Is the opinion positive or negative?', 'Did they like it? Say positive or negative.',
  ]),
};

