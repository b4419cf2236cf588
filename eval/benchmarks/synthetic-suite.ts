import {
  ARITHMETIC_FAMILIES, COT_FAMILIES, COT_TARGET_TOKENS, DEFAULT_EVAL_PER_FAMILY, EXTENSION_FAMILIES, FAMILIES, familyByName, generateEvalSet, generatePhrasingEvalSet,
  HELD_OUT_FAMILIES, PHRASED_FAMILY_NAMES, type PhrasingSet,
} from '../../finetune/data/synthetic/index.ts';
import { COT_TRIGGER } from '../../runtime/engine/chain-of-thought.ts';
import type { PromptStyle } from '../prompting/modes.ts';
import type { QaSuiteSpec } from '../run/qa-suites.ts';
import { BenchmarkDataError } from './read-text.ts';
import type { QaTask } from './types.ts';

/**
 * The embedded models' own benchmark: the synthetic generator's fixed eval split (a seed no training
 * run uses, its questions removed from training), one task per family, held-in and held-out alike.
 * Nothing is read from disk; the data is the generator. Prompts are the family's first template,
 * zero-shot; CoT appends the trigger the models were finetuned with and reads "So the answer is X.".
 */
export type SyntheticTask = QaTask & { heldOut: boolean; randomBaseline: number };

/**
 * A held-in family asked in plain phrasings (finetune/data/synthetic/phrasings.ts): `addition@seen`
 * under the phrasings it was trained on, `addition@unseen` under held-out ones, 100 questions each.
 */
export const phrasingTask = (family: string, set: PhrasingSet) => `${family}@${set}`;
const PHRASING_TASK = /^(\w+)@(seen|unseen)$/;

/** The families a new user asks first (issue 22's must-show set): arithmetic, sorting, counting, sentiment, reversal. */
export const PLAIN_FAMILIES = ['addition', 'multiplication', 'sort_numbers', 'count_words', 'sentiment_movie', 'reverse_words'];

/** Names that select a group of families in --tasks, beside the family names themselves. */
export const SYNTHETIC_TASK_GROUPS: Record<string, readonly string[]> = {
  'held-in': FAMILIES.map((f) => f.name).filter((n) => !HELD_OUT_FAMILIES.includes(n)),
  'held-out': HELD_OUT_FAMILIES,
  cot: COT_FAMILIES,
  arithmetic: ARITHMETIC_FAMILIES,
  'phrasings-seen': PHRASED_FAMILY_NAMES.map((f) => phrasingTask(f, 'seen')),
  'phrasings-unseen': PHRASED_FAMILY_NAMES.map((f) => phrasingTask(f, 'unseen')),
  'plain-unseen': PLAIN_FAMILIES.map((f) => phrasingTask(f, 'unseen')),
};

/** Every family by default; extension families (taught later, in no average) only when named. */
export function loadSyntheticTasks(names?: readonly string[], perFamily = DEFAULT_EVAL_PER_FAMILY): SyntheticTask[] {
  const phrased = PHRASED_FAMILY_NAMES.flatMap((f) => [phrasingTask(f, 'seen'), phrasingTask(f, 'unseen')]);
  const all = [...[...FAMILIES, ...EXTENSION_FAMILIES].map((f) => f.name), ...phrased];
  const wanted = !names || names.length === 0 ? FAMILIES.map((f) => f.name) : [...new Set(names.flatMap((n) => SYNTHETIC_TASK_GROUPS[n] ?? [n]))];
  const unknown = wanted.find((n) => !all.includes(n));
  if (unknown) throw new BenchmarkDataError(`synthetic: no task "${unknown}" (have: ${Object.keys(SYNTHETIC_TASK_GROUPS).join(', ')}, ${all.join(', ')})`);
  const items = generateEvalSet(perFamily, wanted.filter((n) => !PHRASING_TASK.test(n)));
  return wanted.map((name): SyntheticTask => {
    const phrasing = PHRASING_TASK.exec(name);
    if (phrasing) return phrasedTask(name, phrasing[1], phrasing[2] as PhrasingSet, perFamily);
    const mine = items.filter((i) => i.task === name);
    return {
      suite: 'synthetic',
      name,
      heldOut: mine[0].heldOut,
      randomBaseline: mine[0].randomBaseline,
      examples: mine.map((item, i) => ({ id: `${name}-${i}`, input: item.prompt, targets: [item.answer] })),
      exemplars: [],
    };
  });
}

function phrasedTask(name: string, familyName: string, set: PhrasingSet, perFamily: number): SyntheticTask {
  const family = familyByName(familyName);
  return {
    suite: 'synthetic',
    name,
    heldOut: false,
    randomBaseline: family.labels ? 1 / family.labels.length : (family.randomBaseline ?? 0),
    examples: generatePhrasingEvalSet(set, familyName, perFamily).map((item, i) => ({ id: `${name}-${i}`, input: item.prompt, targets: [item.answer] })),
    exemplars: [],
  };
}

/** Case, surrounding space and a final period do not make an answer wrong. */
export function normalizeSyntheticAnswer(text: string): string {
  return text.trim().replace(/\.$/, '').replace(/\s+/g, ' ').trim().toLowerCase();
}

const FINAL_ANSWER = /So the answer is (.+?)\.?\s*$/;

/**
 * CoT reads the answer after "So the answer is"; a direct answer is the first line, or, when the
 * model worked it out unasked (flan-mini does for a plainly asked sum), the answer its working states.
 */
export function extractSyntheticAnswer(output: string, style: PromptStyle): string | null {
  const line = output.trim().split('\n')[0];
  const match = FINAL_ANSWER.exec(line);
  if (style === 'direct') return match ? normalizeSyntheticAnswer(match[1]) : line === '' ? null : normalizeSyntheticAnswer(line);
  return match ? normalizeSyntheticAnswer(match[1]) : null;
}

export const syntheticSuite: QaSuiteSpec<SyntheticTask> = {
  load: (_dir, names) => loadSyntheticTasks(names),
  prompt: (_task, example, style) => (style === 'direct' ? example.input : `${example.input} ${COT_TRIGGER}`),
  extract: extractSyntheticAnswer,
  extractAfterTrigger: (output) => extractSyntheticAnswer(output, 'direct'),
  score: (prediction, example) => ({ correct: prediction !== null && prediction === normalizeSyntheticAnswer(example.targets[0]) }),
  randomBaseline: (task) => task.randomBaseline,
  // The longest direct answer is a sorted list; a plainly asked question may be answered worked out.
  maxTokens: (task, style) => (style === 'direct' && !PHRASING_TASK.test(task.name) ? 32 : COT_TARGET_TOKENS),
  // Zero-shot prompts: there is no exemplar for a run-on output to imitate.
  nextQuestionMarkers: () => [],
};
