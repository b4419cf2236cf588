import { ANIMALS, between, distinct, FRUITS, NOUNS, pick, VEHICLES, type TaskFamily } from './problem.ts';

export const countWords: TaskFamily = {
  name: 'count_words',
  templates: ['How many words are in this list: {q}?', 'Count the words: {q}', 'Words: {q}\nHow many words are there?'],
  make(rng) {
    const words = distinct(rng, NOUNS, between(rng, 2, 7));
    const steps = words.map((w, i) => `${w} is ${i + 1}`).join(', ');
    return { question: words.join(' '), answer: String(words.length), rationale: `Counting one by one: ${steps}.` };
  },
};

/** Counting only the members of one category among distractors, as BBH's object_counting does. */
export const countFruits: TaskFamily = {
  name: 'count_fruits',
  templates: ['I have {q}. How many fruits do I have?', 'Here is what I own: {q}. How many fruits are there?', 'List: {q}\nCount the fruits.'],
  make(rng) {
    const fruits = distinct(rng, FRUITS, between(rng, 1, 4));
    const others = distinct(rng, [...VEHICLES, ...ANIMALS], between(rng, 1, 3));
    const items = rng.shuffle([...fruits.map((f) => ({ w: f, fruit: true })), ...others.map((o) => ({ w: o, fruit: false }))]);
    const listed = items.map((i) => `${/^[aeiou]/.test(i.w) ? 'an' : 'a'} ${i.w}`).join(', ');
    const found = items.filter((i) => i.fruit).map((i) => i.w);
    return {
      question: listed,
      answer: String(found.length),
      rationale: `The fruits are ${found.join(', ')}. That is ${found.length} fruit${found.length === 1 ? '' : 's'}.`,
    };
  },
};

export const sortWords: TaskFamily = {
  name: 'sort_words',
  templates: ['Sort these words alphabetically: {q}', 'Put the words in alphabetical order: {q}', 'Alphabetize: {q}'],
  make(rng) {
    const words = distinct(rng, NOUNS, between(rng, 3, 5));
    return { question: words.join(' '), answer: [...words].sort().join(' ') };
  },
};

export const reverseWords: TaskFamily = {
  name: 'reverse_words',
  templates: ['Reverse the order of these words: {q}', 'Write the words backwards in order: {q}', 'Words: {q}\nReversed order:'],
  make(rng) {
    const words = distinct(rng, NOUNS, between(rng, 3, 5));
    return { question: words.join(' '), answer: [...words].reverse().join(' ') };
  },
};

export const lastWord: TaskFamily = {
  name: 'last_word',
  templates: ['What is the last word in: {q}?', 'Give the final word of the list {q}.', 'Words: {q}\nWhich word comes last?'],
  make(rng) {
    const words = distinct(rng, NOUNS, between(rng, 3, 6));
    return { question: words.join(' '), answer: words[words.length - 1] };
  },
};

/** Held out: the first word, never asked in training, next to last_word and reverse_words. */
export const firstWord: TaskFamily = {
  name: 'first_word',
  templates: ['What is the first word in: {q}?', 'Give the opening word of the list {q}.', 'Words: {q}\nWhich word comes first?'],
  make(rng) {
    const words = distinct(rng, NOUNS, between(rng, 3, 6));
    return { question: words.join(' '), answer: words[0] };
  },
};

/**
 * Not in the mixture at all (see EXTENSION_FAMILIES): the task the continual-finetuning demonstration
 * teaches the running server, next to first_word and last_word.
 */
export const secondWord: TaskFamily = {
  name: 'second_word',
  templates: ['What is the second word in: {q}?', 'Give the second word of the list {q}.', 'Words: {q}\nWhich word comes second?'],
  make(rng) {
    const words = distinct(rng, NOUNS, between(rng, 3, 6));
    return { question: words.join(' '), answer: words[1] };
  },
};

export const pluralize: TaskFamily = {
  name: 'plural',
  templates: ['What is the plural of "{q}"?', 'Give the plural form of {q}.', 'Singular: {q}\nPlural:'],
  make(rng) {
    const word = pick(rng, [...NOUNS, ...FRUITS, ...ANIMALS]);
    const plural = /(s|sh|ch|x)$/.test(word) ? `${word}es` : word.endsWith('y') && !/[aeiou]y$/.test(word) ? `${word.slice(0, -1)}ies` : `${word}s`;
    return { question: word, answer: plural };
  },
};
