import { SeededRandom } from '../../../runtime/seeded-random.ts';
import { cotTarget } from '../templates.ts';
import { evalDraws, evalQuestions, DEFAULT_EVAL_PER_FAMILY, trainingExclusions } from './generate.ts';
import { PHRASED_FAMILIES, type PhrasedFamily, type PhrasedProblem } from './phrasing-families.ts';
import type { SyntheticExample } from './render.ts';

/**
 * Plain phrasings: rendering, the training examples and the eval split of the families in
 * phrasing-families.ts. Trained phrasings may come wrapped ("Q: ... A:") and with options; the
 * held-out phrasings are asked as written, only by the eval (`seen` asks the trained ones the same way).
 */
export type PhrasingSet = 'seen' | 'unseen';

/** Wrappers a trained phrasing may come in; `{x}` is the phrased question. */
const WRAPPERS = ['{x}', '{x}', '{x}', 'Q: {x}\nA:', 'Question: {x}\nAnswer:', '{x}\nAnswer:', 'Q: {x} A:'];
/**
 * Words around a question that change nothing it asks: a user's greeting or thanks. Without them the
 * model learns that a question is all there is, and a plain question with one more clause than any
 * trained phrasing (most held-out ones) reads as something else.
 */
const OPENERS = [
  'Hi! ', 'Hello. ', 'Quick question. ', 'One more. ', 'Okay, ', 'Hmm. ', 'Question for you. ', 'Here is one. ',
  'Good morning! ', 'Sorry to bother you. ', 'I am stuck on this. ', 'For a school exercise: ', 'My friend asked me this. ', 'Just wondering. ',
  'This is for a game. ', 'Another one for you. ', 'Hey there. ', 'Small puzzle: ', 'Please help. ', 'Right, next. ',
];
const CLOSERS = [
  ' Thanks.', ' Thank you!', ' Thanks a lot.', ' Thank you very much.', ' No rush.', ' Cheers.', ' It is for school.', ' I am curious.',
  ' Be careful.', ' Much appreciated.',
];
/** Ways a template may list a classification family's labels. */
const OPTION_FORMATS = [
  (labels: readonly string[]) => `\nOPTIONS:\n${labels.map((l) => `- ${l}`).join('\n')}`,
  (labels: readonly string[]) => ` Options: ${labels.join(', ')}.`,
  (labels: readonly string[]) => `\nChoose one: ${labels.join(' or ')}.`,
];

export function phrasedFamily(name: string): PhrasedFamily {
  const family = PHRASED_FAMILIES.find((f) => f.family === name);
  if (!family) throw new Error(`no plain phrasings for family "${name}"`);
  return family;
}

export function fillSlots(template: string, slots: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => slots[name] ?? whole);
}

/**
 * A pattern that finds `template` inside any text, whatever its slots hold: how the split test
 * proves no training input was written with a held-out phrasing.
 */
export function templatePattern(template: string): RegExp {
  const parts = template.split(/\{\w+\}/).map((literal) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(parts.join('[^\\n]+?'));
}

/** The target a phrasing trains on and a correct answer reads back: the answer, stated or worked. */
function targetOf(family: PhrasedFamily, problem: PhrasedProblem): string {
  if (family.worked && problem.rationale) return cotTarget(problem.rationale, problem.answer);
  return family.statedAnswer ? cotTarget('', problem.answer).trimStart() : problem.answer;
}

function trainingExample(family: PhrasedFamily, templates: readonly string[], problem: PhrasedProblem, rng: SeededRandom): SyntheticExample {
  const template = templates[rng.int(templates.length)];
  let question = fillSlots(template, problem.slots);
  if (family.options && rng.next() < 0.4) question += OPTION_FORMATS[rng.int(OPTION_FORMATS.length)](rng.shuffle([...family.options]));
  if (rng.next() < 0.25) question = `${OPENERS[rng.int(OPENERS.length)]}${question}`;
  if (rng.next() < 0.25) question += CLOSERS[rng.int(CLOSERS.length)];
  const wrapper = WRAPPERS[rng.int(WRAPPERS.length)];
  // Worked targets go in `targets`, with no rationale field: the trainer must not add the CoT trigger.
  return { inputs: wrapper.split('{x}').join(question), targets: targetOf(family, problem), task: family.family };
}

const evalStream = (family: PhrasedFamily) => `${family.family}/phrasings`;

/** Questions no phrased training example may ask: the phrasing eval split's and the family's own eval split's. */
function excludedQuestions(family: PhrasedFamily, perFamily: number): Set<string> {
  const own = evalDraws(evalStream(family), family.make, perFamily).map((p) => p.question);
  return new Set([...own, ...(evalQuestions(perFamily).get(family.family) ?? [])]);
}

/**
 * `counts[family]` training examples per phrased family under its trained phrasings (`from` 'focus':
 * only its focus phrasings), deterministic in `seed`. As in generateMixture, eval questions are
 * skipped unless the family is closed (most draws are eval questions: multiplication), where it
 * trains on its whole space.
 */
export function generatePhrasedMixture(seed: number, counts: Readonly<Record<string, number>>, from: 'trained' | 'focus' = 'trained'): SyntheticExample[] {
  const rng = SeededRandom.fromSeed(seed);
  const examples: SyntheticExample[] = [];
  for (const [name, count] of Object.entries(counts)) {
    const family = phrasedFamily(name);
    const templates = from === 'trained' ? family.trained : family.focus;
    if (!templates) throw new Error(`family "${name}" has no focus phrasings`);
    const skip = trainingExclusions(family.make, excludedQuestions(family, DEFAULT_EVAL_PER_FAMILY), seed);
    for (let made = 0, tries = 0; made < count && tries < count * 20; tries++) {
      const problem = family.make(rng);
      if (skip.has(problem.question)) continue;
      examples.push(trainingExample(family, templates, problem, rng));
      made++;
    }
  }
  return rng.shuffle(examples);
}

export interface PhrasedEvalItem {
  family: string;
  prompt: string;
  answer: string;
}

/** The phrasing eval split: `perFamily` questions of each family, its `set` phrasings taken in turn, as written. */
export function generatePhrasingEvalSet(set: PhrasingSet, family: string, perFamily = DEFAULT_EVAL_PER_FAMILY): PhrasedEvalItem[] {
  const phrased = phrasedFamily(family);
  const templates = set === 'seen' ? phrased.trained : phrased.heldOut;
  return evalDraws(evalStream(phrased), phrased.make, perFamily).map((p, i) => ({
    family,
    prompt: fillSlots(templates[i % templates.length], p.slots),
    answer: p.answer,
  }));
}

export const PHRASED_FAMILY_NAMES: readonly string[] = PHRASED_FAMILIES.map((f) => f.family);

const HELD_OUT_PATTERNS = PHRASED_FAMILIES.flatMap((f) => f.heldOut.map((template) => ({ template, pattern: templatePattern(template) })));

/** The held-out phrasing `text` was written with, if any: training data must never have one. */
export function heldOutPhrasingIn(text: string): string | undefined {
  return HELD_OUT_PATTERNS.find(({ pattern }) => pattern.test(text))?.template;
}
