import { SeededRandom } from '../../../runtime/seeded-random.ts';
import { addition, compareNumbers, evenOdd, maximum, minimum, multiplication, sortNumbers, subtraction } from './arithmetic-families.ts';
import { movieSentiment, productSentiment, toxicity } from './classification-families.ts';
import { booleanExpressions, bracketMatching, monthArithmetic, weekdayArithmetic } from './logic-families.ts';
import type { TaskFamily } from './problem.ts';
import { entailment, extractiveQa, factTableChoice } from './reading-families.ts';
import { countFruits, countWords, firstWord, lastWord, pluralize, reverseWords, secondWord, sortWords } from './word-families.ts';
import { wordProblemDe, wordProblemEn, wordProblemEs, wordProblemFr, wordProblemIt } from './word-problem-families.ts';

/** Every family, in a fixed order: the order is part of what makes generation deterministic. */
export const FAMILIES: readonly TaskFamily[] = [
  addition, subtraction, multiplication, evenOdd, minimum, maximum, sortNumbers, compareNumbers,
  countWords, countFruits, sortWords, reverseWords, lastWord, firstWord, pluralize,
  booleanExpressions, bracketMatching, weekdayArithmetic, monthArithmetic,
  factTableChoice, extractiveQa, entailment,
  movieSentiment, productSentiment, toxicity,
  wordProblemEn, wordProblemFr, wordProblemEs, wordProblemDe, wordProblemIt,
];

/**
 * Families outside the embedded models' world: in no mixture, no pretraining text and no held-in or
 * held-out average, reached only by name. They are new tasks to teach a served model later, as the
 * continual-finetuning demonstration (models/build/finetune-through-server.ts) does.
 */
export const EXTENSION_FAMILIES: readonly TaskFamily[] = [secondWord];

/**
 * Families kept out of training and pretraining text entirely, to measure generalization as the
 * paper's held-out MMLU/BBH do. Each is a near neighbour of a held-in skill (max of min, first of
 * last, a fifth language, a new sentiment domain, comparison), the kind of transfer a small model
 * could plausibly show.
 */
export const HELD_OUT_FAMILIES: readonly string[] = ['max_of_list', 'compare_numbers', 'first_word', 'sentiment_product', 'word_problem_it'];

/** Families whose examples carry a CoT rationale; the no-CoT ablation drops exactly these rationales. */
export const COT_FAMILIES: readonly string[] = FAMILIES.filter((f) => hasRationale(f)).map((f) => f.name);

/** Arithmetic families for the self-consistency comparison. */
export const ARITHMETIC_FAMILIES: readonly string[] = ['addition', 'subtraction', 'multiplication', 'word_problem_en', 'word_problem_fr', 'word_problem_es', 'word_problem_de'];

export function familyByName(name: string): TaskFamily {
  const family = [...FAMILIES, ...EXTENSION_FAMILIES].find((f) => f.name === name);
  if (!family) throw new Error(`no synthetic task family "${name}"`);
  return family;
}

export const isHeldOut = (name: string): boolean => HELD_OUT_FAMILIES.includes(name);

function hasRationale(family: TaskFamily): boolean {
  // Probing one example is exact here: a family gives a rationale always or never.
  return family.make(SeededRandom.fromSeed(1)).rationale !== undefined;
}
