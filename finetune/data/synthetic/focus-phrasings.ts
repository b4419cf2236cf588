import { composedPhrasings, cross } from './composed-phrasings.ts';

/**
 * Stage 6: the meanings stage 5 still missed on held-out phrasings, each taught with many generic
 * wordings. A family's focus phrasings are part of its trained set; a stage can also draw them on
 * their own (`generatePhrasedMixture(..., 'focus')`), since a few hundred among sorting's 290,000
 * composed phrasings would otherwise hardly be seen. Stage 5's misses, read one by one:
 * - "smallest" with a way up ("from the smallest up") answered with the minimum alone: here every
 *   way of saying "small ones first, then up" asks for the whole list, and only words that say
 *   "one" ("only", "single", "which one") ask for the minimum;
 * - "start from the last word" answered with the last word alone: here starting at the end and
 *   going on through all of them is a reversal, and "only" / "just" marks the last word;
 * - counts copied the request's last word ("in" of "in words?", "appear in:") into the worked
 *   count, or counted the last word twice: here many requests end in "in" before the text, and
 *   "how long ... in words" / "length in words" ask for a count.
 * None is a held-out phrasing or a near copy of one (the split test checks the first); the
 * combinations that would come closest are left out where they are built.
 */

/** Ways of saying "the small ones first, going up", said of a whole list. */
const UP_FROM_SMALL = [
  'from the smallest upward', 'from the lowest upward', 'from the least upwards', 'smallest first', 'lowest first', 'least first',
  'with the smallest first and the largest last', 'from the bottom to the top', 'from the little ones up to the big ones', 'going up from the smallest',
  'up from the lowest', 'climbing from the least to the most', 'starting at the lowest and going up', 'beginning with the smallest and ending with the largest',
  'low to high', 'from the lowest number to the highest number', 'small ones first, big ones last', 'in order of size, smallest first',
  'upward, beginning at the smallest', 'step by step from the smallest to the biggest', 'so that they go up', 'so each number is bigger than the one before',
];
/** Verbs that take a list and a direction; "write" is left out so that no request comes near "Write the numbers ... from the smallest up". */
const LIST_VERBS = ['list', 'put', 'show', 'order', 'arrange', 'set out', 'line up', 'print', 'rewrite', 'sort', 'give', 'return', 'say', 'present', 'rank'];
/** A whole list with a direction `up`, the direction before or after the numbers. */
const WHOLE_LISTS: readonly ((up: string) => string)[] = [
  (up) => `{list} ${up}`, (up) => `these numbers ${up}: {list}`, (up) => `the values {list} ${up}`, (up) => `all of {list} ${up}`,
  (up) => `every number in {list} ${up}`, (up) => `the whole list ${up}: {list}`, (up) => `all the numbers ${up}: {list}`,
];

export const sortNumbersFocus = (): readonly string[] => composedPhrasings({
  requests: cross(LIST_VERBS, WHOLE_LISTS.flatMap((list) => UP_FROM_SMALL.map(list))),
  questions: cross(['What is', 'How does', 'What do you get for', 'Can you give all of', 'Could you list every number of'], UP_FROM_SMALL.map((up) => `{list} ${up}?`)),
});

export const minOfListFocus = (): readonly string[] => composedPhrasings({
  requests: cross(['give', 'say', 'name', 'pick out', 'tell me', 'write down'], [
    'only the smallest number in {list}', 'just the lowest one of {list}', 'the single least number: {list}', 'the one number that is smallest in {list}',
    'nothing but the minimum of {list}',
  ]),
  questions: cross(['Of {list}', 'Among {list}', 'In {list}', 'From the numbers {list}'], [
    ', which one is the least?', ', which is lowest?', ', which single number is smallest?', ', what is the least value?', ', which one number is the minimum?',
  ], ''),
});

/** Ways of starting a request at the end of a word list. */
const START_AT_END = cross(['Start with', 'Begin with', 'Begin at', 'Start at', 'Begin from', 'Go to', 'Jump to', 'Head to', 'Kick off with', 'Start from'], [
  'the final word', 'the end', 'the last one', 'the word at the end', 'the final one', 'the last word',
]).filter((start) => start !== 'Start from the last word');
/** What to do after starting at the end: go on through every word. */
const THROUGH_ALL = [
  'and say every word', 'and name each one', 'and go back to the first', 'and write them all out', 'and give every one of them', 'and go through all the words',
  'and read them all', 'and work back to the first word', 'then give the rest backwards', 'and keep going until the first word', 'and say each word in turn',
];

export const reverseWordsFocus = (): readonly string[] => composedPhrasings({
  requests: [],
  questions: [
    ...cross(START_AT_END, THROUGH_ALL.map((all) => `${all}: {words}`)),
    ...cross(START_AT_END, THROUGH_ALL.map((all) => `${all}.`)).map((request) => `{words}\n${request}`),
    ...cross(['Go through', 'Say all of', 'List every word of', 'Name all of', 'Read out all of'], [
      '{words} from the last word to the first.', '{words}, beginning at the end.', '{words}, starting with the final word.', '{words}, the last one first and the first one last.',
    ]),
  ],
});

export const lastWordFocus = (): readonly string[] => composedPhrasings({
  requests: cross(['give', 'say', 'tell me', 'write', 'pick out'], [
    'only the last word of {words}', 'just the final word: {words}', 'the one word at the end of {words}', 'the single final word in {words}', 'nothing but the last word: {words}',
  ]),
});

/** Requests whose last word before the text is "in" or "of": the text to count starts after the colon. */
const WORDS_IN = [
  'how many words occur in: {text}', 'how many words are used in: {text}', 'how many words show up in: {text}', 'how many words there are in: {text}',
  'how many words are found in: {text}', 'the number of words that occur in: {text}', 'the count of words in: {text}', 'how many words appear in the text below: {text}',
  'the number of words in it: {text}', 'how many words are written in: {text}', 'the total number of words of: {text}',
];
/** "How long" and "length" said of a text in words. */
const LENGTH_OF = cross(
  cross(['How long is', 'What is the length of'], ['the sentence below', 'the following line', 'the text below', 'this message', 'the next line', 'this short text']),
  [', counted in words? {text}', ', measured in words? {text}', ' if you count its words? {text}', ' in number of words? {text}', ', in words? {text}'],
  '',
);

export const countWordsFocus = (): readonly string[] => composedPhrasings({
  requests: [
    ...cross(['tell me', 'work out', 'say', 'count', 'check', 'figure out', 'determine', 'state'], WORDS_IN),
    ...cross(['tell me', 'give', 'work out', 'measure', 'state'], [
      'the length in words of this: {text}', 'the length of this sentence in words: {text}', 'how long this text is in words: {text}', 'how many words long this is: {text}',
      'the length, in words, of the line below: {text}',
    ]),
  ],
  questions: [
    ...LENGTH_OF,
    ...cross(['In words, how long is', 'Counting words, how long is', 'Word by word, how long is'], ['the sentence below? {text}', 'the following? {text}', 'this line? {text}', '"{text}"?']),
    ...cross(['Length in words?', 'Its length in words?', 'How many words long?', 'Length of this, in words?'], ['{text}', '"{text}"']),
  ],
});

/** Sums told with bare numbers, asked "in all" / "altogether"; "I have {a} and get {b} more" itself is held out. */
export const additionFocus = (): readonly string[] => composedPhrasings({
  requests: [],
  questions: cross(
    cross(['I start with {a}', 'You begin with {a}', 'She had {a}', 'We have {a}', 'Tim starts with {a}', 'I hold {a}', 'They had {a}'], [', then {b} more are added', ', and {b} more turn up', ', plus another {b}', ', and then {b} more come along'], ''),
    ['; how many altogether?', '. How many in all?', '; what is the total now?', ', so how many in total?', '. How many does that make in all?'],
    '',
  ),
});
