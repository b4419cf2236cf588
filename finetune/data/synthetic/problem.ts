import type { SeededRandom } from '../../../runtime/seeded-random.ts';

/** One generated question before any template: what is asked, the gold answer, and maybe a CoT. */
export interface Problem {
  question: string;
  answer: string;
  /** A human-style chain of thought that ends just before "So the answer is ...". */
  rationale?: string;
}

/**
 * A task family: one skill with its own generator and several phrasings. `labels` lists the closed
 * answer set of classification and multiple-choice families, which fixes the random-guess baseline
 * the normalized average needs; open-ended families have none (baseline 0).
 */
export interface TaskFamily {
  name: string;
  /** Input templates; `{q}` is replaced by the question. The first is the one evaluation uses. */
  templates: string[];
  labels?: string[];
  /** Chance of a uniform guess for open-answer families that are really a choice (default 0). */
  randomBaseline?: number;
  make(rng: SeededRandom): Problem;
}

export function pick<T>(rng: SeededRandom, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

/** Uniform integer in [lo, hi]. */
export function between(rng: SeededRandom, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

/** `count` distinct items, in random order. */
export function distinct<T>(rng: SeededRandom, items: readonly T[], count: number): T[] {
  return rng.shuffle([...items]).slice(0, count);
}

export const NAMES = [
  'Anna', 'Ben', 'Carla', 'David', 'Emma', 'Felix', 'Grace', 'Hugo', 'Ines', 'Jonas', 'Lena', 'Marco', 'Nora', 'Omar', 'Paula', 'Sam',
  'Alice', 'Bruno', 'Chloe', 'Daniel', 'Elena', 'Fatima', 'George', 'Hannah', 'Ivan', 'Julia', 'Karim', 'Laura', 'Mateo', 'Nina',
  'Oscar', 'Pedro', 'Rosa', 'Simon', 'Tara', 'Victor', 'Wanda', 'Yusuf', 'Zoe', 'Clara', 'Elias', 'Helen', 'Olga', 'Rita',
];
export const NOUNS = ['apple', 'book', 'car', 'dog', 'house', 'pencil', 'river', 'table', 'window', 'garden', 'horse', 'lamp', 'tree', 'chair', 'bird', 'cup', 'shoe', 'train', 'cloud', 'stone'];
export const FRUITS = ['apple', 'banana', 'pear', 'plum', 'cherry', 'grape', 'lemon', 'mango', 'orange', 'peach'];
export const VEHICLES = ['car', 'bus', 'bike', 'train', 'truck', 'boat', 'plane', 'van'];
export const ANIMALS = ['cat', 'dog', 'horse', 'cow', 'fox', 'owl', 'goat', 'duck', 'frog', 'wolf'];
