import type { SeededRandom } from '../../../runtime/seeded-random.ts';
import { countingSteps } from './arithmetic-steps.ts';
import { trainedPhrasings } from './composed-phrasings.ts';
import { additionFocus, countWordsFocus, lastWordFocus, minOfListFocus, reverseWordsFocus, sortNumbersFocus } from './focus-phrasings.ts';
import {
  ADDITION_PARTS, COUNT_WORDS_PARTS, LAST_WORD_PARTS, MIN_OF_LIST_PARTS, MULTIPLICATION_PARTS, REVERSE_WORDS_PARTS, SENTIMENT_PARTS, SORT_NUMBERS_PARTS, SUBTRACTION_PARTS,
} from './phrasing-parts.ts';
import { ANIMALS, between, distinct, FRUITS, NOUNS, pick, type Problem } from './problem.ts';

/**
 * Plainly asked questions for the families a new user tries first: many phrasings each (questions,
 * imperatives, "... =", with and without options, several list formats), so that how a question is
 * put stops mattering, plus `heldOut` phrasings that never enter training and measure exactly that.
 * Slots are `{name}`; finetune/data/synthetic/phrasings.ts renders them and keeps the two sets apart.
 */
export interface PhrasedFamily {
  /** The task family these phrasings ask (its examples train and score under that name). */
  family: string;
  /** A question with its slot values; `answer` and `rationale` as in Problem. */
  make(rng: SeededRandom): PhrasedProblem;
  trained: readonly string[];
  /** Trained phrasings a stage may draw on their own, so a few meanings get more steps than their share (focus-phrasings.ts). */
  focus?: readonly string[];
  heldOut: readonly string[];
  /** Labels a template may list as options (classification families). */
  options?: readonly string[];
  /**
   * The target is the worked answer ("<rationale> So the answer is X."), unprompted: a model this
   * size cannot add two numbers in one token (flan-mini: 7% direct, 99% worked), so a plain question
   * about a sum gets its working, as a person would write it.
   */
  worked?: boolean;
  /**
   * The target is "So the answer is X.": a list answer then starts after a space, so each item is the
   * same token as in the question (" blue", " 37"); as the first word of a target it would be another
   * ("bl|ue", "3|7") and the model would have to learn each item twice to copy it.
   */
  statedAnswer?: boolean;
}

export interface PhrasedProblem extends Problem {
  /** Slot values; `question` is their canonical join, the key of the train / eval split. */
  slots: Record<string, string>;
}

const COLORS = ['red', 'green', 'blue', 'yellow', 'black', 'white', 'pink', 'brown', 'grey', 'purple'];
// Deduplicated: some nouns are also fruits or animals, and a list to reverse or sort has distinct words.
const WORDS = [...new Set([...NOUNS, ...FRUITS, ...ANIMALS, ...COLORS])];
/** Things to sit on or be in, beside the generator's nouns, so everyday sentences read naturally. */
const PLACES = ['mat', 'hat', 'box', 'bed', 'wall', 'road', 'sofa', 'roof'];
const SMALL_WORDS = ['the', 'a', 'my', 'on', 'in', 'and', 'is', 'was', 'big', 'old', 'sat', 'ran', 'saw', 'likes', 'has', 'red', 'little'];

/** A number list in one of the ways people write one; the answer keeps the canonical ", " form. */
function numberList(rng: SeededRandom, xs: readonly number[]): string {
  const s = xs.map(String);
  switch (rng.int(6)) {
    case 0: return s.join(' ');
    case 1: return s.join(',');
    case 2: return `[${s.join(', ')}]`;
    case 3: return `${s.slice(0, -1).join(', ')} and ${s[s.length - 1]}`;
    case 4: return s.join('; ');
    default: return s.join(', ');
  }
}

/** A word list written with spaces or with commas; the same separator serves the answer. */
function wordListSeparator(rng: SeededRandom): string {
  return rng.next() < 0.6 ? ' ' : ', ';
}

/** A short sentence or a loose run of words, repeats allowed, as a user would paste one. */
function wordsToCount(rng: SeededRandom): string[] {
  if (rng.next() < 0.5) return Array.from({ length: between(rng, 2, 9) }, () => pick(rng, rng.next() < 0.4 ? SMALL_WORDS : WORDS));
  const animal = pick(rng, ANIMALS);
  const noun = pick(rng, [...NOUNS, ...PLACES]);
  const sentence = pick(rng, [
    ['the', animal, 'sat', 'on', 'the', noun],
    ['a', animal, 'ran'],
    ['my', pick(rng, COLORS), noun, 'is', 'old'],
    ['I', 'saw', 'a', pick(rng, COLORS), animal, 'in', 'the', 'garden'],
    ['the', noun, 'is', pick(rng, COLORS)],
    [animal, 'and', pick(rng, ANIMALS), 'like', pick(rng, FRUITS)],
  ]);
  return sentence;
}

const POSITIVE = [
  'I loved it', 'I really liked it', 'I enjoyed every minute', 'Highly recommended', 'It was wonderful', 'Best {s} ever',
  'I would watch it again', 'It made me happy', 'Absolutely great', 'What a lovely {s}', 'Five stars', 'I liked the {s} a lot',
  'The {s} was excellent', 'A fantastic {s}', 'It was worth every penny', 'Loved the {s}',
];
const NEGATIVE = [
  'I hated it', 'I did not like it', 'It was a waste of time', 'Worst {s} ever', 'I want my money back', 'It was boring',
  'Not worth it', 'What a terrible {s}', 'One star', 'I disliked the {s}', 'The {s} was awful', 'A dull {s}',
  'It made me sad and angry', 'Never again', 'I regret watching it', 'The {s} was a disappointment',
];
const SUBJECTS = ['film', 'movie', 'story', 'ending', 'show', 'book', 'plot', 'acting'];
const NEUTRAL = ['I saw it on Sunday', 'it lasted two hours', 'my sister came along', 'I read it in May', 'it was long'];

function review(rng: SeededRandom): { text: string; label: string } {
  const positive = rng.next() < 0.5;
  const subject = pick(rng, SUBJECTS);
  const opinion = pick(rng, positive ? POSITIVE : NEGATIVE).replace('{s}', subject);
  const neutral = rng.next() < 0.3 ? `${pick(rng, NEUTRAL)}. ` : '';
  const text = neutral ? `${neutral.charAt(0).toUpperCase()}${neutral.slice(1)}${opinion}` : opinion;
  return { text: `${text}${rng.next() < 0.2 ? '!' : '.'}`, label: positive ? 'positive' : 'negative' };
}

function sumOf(rng: SeededRandom, op: '+' | '-'): PhrasedProblem {
  const a = op === '+' ? between(rng, 1, 50) : between(rng, 10, 99);
  const b = op === '+' ? between(rng, 1, 50) : between(rng, 1, a);
  const answer = String(op === '+' ? a + b : a - b);
  const lead = op === '+' ? `We add ${b} to ${a}.` : `We take ${b} away from ${a}.`;
  return { question: `${a} ${op} ${b}`, answer, rationale: `${lead} ${countingSteps(a, op, b)}.`, slots: { a: String(a), b: String(b) } };
}

/** A family as written here: its trained and focus phrasings are composed when first asked for (see composedOnFirstUse). */
type FamilySource = Omit<PhrasedFamily, 'trained' | 'focus'> & { trained: () => readonly string[]; focus?: () => readonly string[] };

const FAMILIES: readonly FamilySource[] = [
  {
    family: 'addition',
    focus: additionFocus,
    worked: true,
    make: (rng) => sumOf(rng, '+'),
    trained: () => trainedPhrasings([
      'What is {a} plus {b}?', 'How much is {a} plus {b}?', 'Add {a} and {b}.', 'What is the sum of {a} and {b}?', '{a} + {b} =',
      '{a} plus {b} equals what?', 'Calculate {a} plus {b}.', 'Please add {a} to {b}.', 'What do you get when you add {a} and {b}?',
      'Find the sum of {a} and {b}.', 'What does {a} + {b} equal?', 'If you add {b} to {a}, what do you get?', '{a}+{b}=?', 'Sum {a} and {b}.',
      'what is {a} plus {b}', 'Compute the sum {a} + {b}.',
    ], ADDITION_PARTS),
    heldOut: ['What number is {a} plus {b}?', 'Tell me the total of {a} and {b}.', 'Work out {a} + {b}.', 'I have {a} and get {b} more; how many is that in all?', 'Solve: {a} plus {b}'],
  },
  {
    family: 'subtraction',
    worked: true,
    make: (rng) => sumOf(rng, '-'),
    trained: () => trainedPhrasings([
      'What is {a} minus {b}?', 'How much is {a} minus {b}?', 'Subtract {b} from {a}.', 'What is the difference between {a} and {b}?', '{a} - {b} =',
      '{a} minus {b} equals what?', 'Calculate {a} minus {b}.', 'Take {b} away from {a}.', 'What do you get when you subtract {b} from {a}?',
      'What does {a} - {b} equal?', '{a}-{b}=?', 'what is {a} minus {b}',
    ], SUBTRACTION_PARTS),
    heldOut: ['What number is {a} minus {b}?', 'Work out {a} - {b}.', 'Solve: {a} minus {b}'],
  },
  {
    family: 'multiplication',
    make(rng) {
      const a = between(rng, 2, 12);
      const b = between(rng, 2, 9);
      return { question: `${a} * ${b}`, answer: String(a * b), slots: { a: String(a), b: String(b) } };
    },
    trained: () => trainedPhrasings([
      'What is {a} times {b}?', 'How much is {a} times {b}?', 'Multiply {a} by {b}.', 'What is {a} multiplied by {b}?', 'What is the product of {a} and {b}?',
      '{a} x {b} =', '{a} * {b} =', '{a}*{b}=?', 'Calculate {a} times {b}.', 'What do you get if you multiply {a} and {b}?', '{a} times {b} equals what?',
      'what is {a} times {b}', 'Compute the product {a} x {b}.', 'Multiply {a} and {b} together.',
    ], MULTIPLICATION_PARTS),
    heldOut: ['What number is {a} times {b}?', 'Tell me the product of {a} and {b}.', 'Work out {a} x {b}.', 'Find {a} times {b}.', 'Solve: {a} multiplied by {b}'],
  },
  {
    family: 'sort_numbers',
    focus: sortNumbersFocus,
    statedAnswer: true,
    make(rng) {
      const xs = Array.from({ length: between(rng, 3, 6) }, () => between(rng, 1, 99));
      return { question: xs.join(', '), answer: [...xs].sort((a, b) => a - b).join(', '), slots: { list: numberList(rng, xs) } };
    },
    trained: () => trainedPhrasings([
      'Sort these numbers: {list}', 'Sort {list}.', 'Sort the numbers {list} in ascending order.', 'Arrange {list} from smallest to largest.',
      'Put these numbers in order: {list}', 'Can you sort {list}?', 'Order from least to greatest: {list}', 'Sort in increasing order: {list}',
      'Here are some numbers: {list}. Sort them.', 'List {list} in ascending order.', 'What is {list} sorted?', 'Numbers: {list}\nSorted:',
      'sort {list}', 'Please order these numbers from small to large: {list}',
    ], SORT_NUMBERS_PARTS),
    heldOut: [
      'Rearrange these from lowest to highest: {list}', 'Give me {list} in ascending order, please.', 'How would {list} look when sorted from small to big?',
      'Write the numbers {list} from the smallest up.', 'I need these numbers ordered smallest first: {list}',
    ],
  },
  {
    family: 'count_words',
    focus: countWordsFocus,
    worked: true,
    make(rng) {
      const words = wordsToCount(rng);
      const steps = words.map((w, i) => `${w} is ${i + 1}`).join(', ');
      const text = words.join(' ');
      return { question: text, answer: String(words.length), rationale: `Counting one by one: ${steps}.`, slots: { text } };
    },
    trained: () => trainedPhrasings([
      'How many words are in this sentence: {text}', 'How many words are in "{text}"?', 'Count the words in: {text}', 'Count the words in this sentence: {text}',
      'Number of words in "{text}"?', 'How many words does this have: {text}', '{text}\nHow many words is that?', 'What is the word count of: {text}',
      'How many words: {text}', 'Count how many words there are: {text}', 'how many words are in {text}', 'Sentence: {text}\nWord count:',
    ], COUNT_WORDS_PARTS),
    heldOut: [
      'Give the number of words in the following text: {text}', 'I wrote "{text}". How many words did I write?', 'Find how many words appear in: {text}',
      'How long is this in words? {text}', 'Words in the sentence "{text}": how many?',
    ],
  },
  {
    family: 'reverse_words',
    focus: reverseWordsFocus,
    statedAnswer: true,
    make(rng) {
      const words = distinct(rng, WORDS, between(rng, 2, 6));
      const sep = wordListSeparator(rng);
      return { question: words.join(' '), answer: [...words].reverse().join(sep), slots: { words: words.join(sep) } };
    },
    trained: () => trainedPhrasings([
      'Reverse the words: {words}', 'Reverse the order of the words: {words}', 'Reverse: {words}', 'Write {words} in reverse order.',
      'Say these words backwards: {words}', 'What is {words} reversed?', 'Put the words {words} in reverse order.', 'Flip the order of the words: {words}',
      'Words in reverse: {words}', 'Reverse this list: {words}', 'reverse {words}', 'List these in reverse order: {words}',
    ], REVERSE_WORDS_PARTS),
    heldOut: [
      'Give me these words last to first: {words}', 'Turn the order around: {words}', 'Read {words} from the end to the start.',
      'Start from the last word and list all of them: {words}', 'What do you get if you reverse {words}?',
    ],
  },
  {
    family: 'sentiment_movie',
    options: ['positive', 'negative'],
    make(rng) {
      const r = review(rng);
      return { question: r.text, answer: r.label, slots: { text: r.text } };
    },
    trained: () => trainedPhrasings([
      'Is this review positive or negative? {text}', '{text}\nIs this review positive or negative?', 'Review: {text}\nPositive or negative?',
      'What is the sentiment of the following review? {text}', 'Did the reviewer like it? {text}\nAnswer positive or negative.', 'Classify the sentiment: {text}',
      '{text} Was that positive or negative?', 'Sentiment of "{text}"?', 'Is the following review positive or negative?\n{text}', 'Positive or negative: {text}',
      'is this positive or negative: {text}', 'What is the sentiment of "{text}"?',
    ], SENTIMENT_PARTS),
    heldOut: [
      'Tell me if this opinion is positive or negative: {text}', 'Here is a review: {text} Would you call it positive or negative?',
      'Decide whether the following is a positive or a negative review. {text}', 'Rate the opinion as positive or negative. {text}',
      'Someone said: "{text}" Did they mean it positively or negatively? Answer positive or negative.',
    ],
  },
  {
    family: 'even_odd',
    options: ['even', 'odd'],
    make(rng) {
      const n = between(rng, 1, 999);
      return { question: String(n), answer: n % 2 === 0 ? 'even' : 'odd', slots: { n: String(n) } };
    },
    trained: () => ['Is {n} even or odd?', 'Is {n} an even number?\nAnswer even or odd.', 'Even or odd? {n}', '{n}: even or odd?', 'Tell me if {n} is odd or even.', 'is {n} odd or even'],
    heldOut: ['Would you say {n} is even, or odd?', 'Say whether the number {n} is even or odd.'],
  },
  {
    family: 'min_of_list',
    focus: minOfListFocus,
    make(rng) {
      const xs = Array.from({ length: between(rng, 3, 6) }, () => between(rng, 1, 99));
      return { question: xs.join(', '), answer: String(Math.min(...xs)), slots: { list: numberList(rng, xs) } };
    },
    trained: () => trainedPhrasings([
      'What is the smallest of {list}?', 'Which number is the smallest: {list}', 'Find the smallest number: {list}', 'Minimum of {list}?',
      'What is the lowest number in {list}?', 'Give the minimum: {list}', 'smallest of {list}',
    ], MIN_OF_LIST_PARTS),
    heldOut: ['Out of {list}, which number is least?', 'Pick the lowest of these: {list}'],
  },
  {
    family: 'last_word',
    focus: lastWordFocus,
    make(rng) {
      const words = distinct(rng, WORDS, between(rng, 2, 6));
      const sep = wordListSeparator(rng);
      return { question: words.join(' '), answer: words[words.length - 1], slots: { words: words.join(sep) } };
    },
    trained: () => trainedPhrasings(
      ['What is the last word of {words}?', 'Which word comes last: {words}', 'Last word: {words}', 'Give me the final word in: {words}', 'What word is at the end of "{words}"?'],
      LAST_WORD_PARTS,
    ),
    heldOut: ['Name the word at the very end: {words}', 'Of {words}, which word is the final one?'],
  },
  {
    family: 'sort_words',
    statedAnswer: true,
    make(rng) {
      const words = distinct(rng, WORDS, between(rng, 3, 5));
      const sep = wordListSeparator(rng);
      return { question: words.join(' '), answer: [...words].sort().join(sep), slots: { words: words.join(sep) } };
    },
    trained: () => ['Sort these words: {words}', 'Sort the words alphabetically: {words}', 'Put {words} in alphabetical order.', 'Alphabetical order: {words}', 'Order these words from A to Z: {words}'],
    heldOut: ['Arrange the following as a dictionary would: {words}', 'Rewrite {words} sorted by the alphabet.'],
  },
];

/**
 * A family whose phrasings are composed on first use and kept: its trained ones with its focus ones
 * appended (each once). Composed at import they were ~375,000 strings (~33 MiB of heap) in every process
 * that imports the synthetic suite, the server's HTTP thread among them, which never reads them.
 */
function composedOnFirstUse({ trained: composeTrained, focus: composeFocus, ...family }: FamilySource): PhrasedFamily {
  let trained: readonly string[] | undefined;
  let focus: readonly string[] | undefined;
  const focusOf = composeFocus && (() => (focus ??= composeFocus()));
  const composed: PhrasedFamily = {
    ...family,
    get trained() {
      trained ??= focusOf ? [...new Set([...composeTrained(), ...focusOf()])] : composeTrained();
      return trained;
    },
  };
  // Defined, not spread in: spreading an object runs its getters.
  if (focusOf) Object.defineProperty(composed, 'focus', { get: focusOf, enumerable: true });
  return composed;
}

/** The families, each with its focus phrasings among its trained ones. */
export const PHRASED_FAMILIES: readonly PhrasedFamily[] = FAMILIES.map(composedOnFirstUse);
