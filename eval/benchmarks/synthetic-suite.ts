import { ARITHMETIC_FAMILIES, COT_FAMILIES, COT_TARGET_TOKENS, DEFAULT_EVAL_PER_FAMILY, EXTENSION_FAMILIES, FAMILIES, generateEvalSet, HELD_OUT_FAMILIES } from '../../finetune/data/synthetic/index.ts';
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

/** Names that select a group of families in --tasks, beside the family names themselves. */
export const SYNTHETIC_TASK_GROUPS: Record<string, readonly string[]> = {
  'held-in': FAMILIES.map((f) => f.name).filter((n) => !HELD_OUT_FAMILIES.includes(n)),
  'held-out': HELD_OUT_FAMILIES,
  cot: COT_FAMILIES,
  arithmetic: ARITHMETIC_FAMILIES,
};

/** Every family by default; extension families (taught later, in no average) only when named. */
export function loadSyntheticTasks(names?: readonly string[], perFamily = DEFAULT_EVAL_PER_FAMILY): SyntheticTask[] {
  const all = [...FAMILIES, ...EXTENSION_FAMILIES].map((f) => f.name);
  const wanted = !names || names.length === 0 ? FAMILIES.map((f) => f.name) : [...new Set(names.flatMap((n) => SYNTHETIC_TASK_GROUPS[n] ?? [n]))];
  const unknown = wanted.find((n) => !all.includes(n));
  if (unknown) throw new BenchmarkDataError(`synthetic: no task "${unknown}" (have: ${Object.keys(SYNTHETIC_TASK_GROUPS).join(', ')}, ${all.join(', ')})`);
  const items = generateEvalSet(perFamily, wanted);
  return wanted.map((name) => {
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

/** Case, surrounding space and a final period do not make an answer wrong. */
export function normalizeSyntheticAnswer(text: string): string {
  return text.trim().replace(/\.$/, '').replace(/\s+/g, ' ').trim().toLowerCase();
}

const FINAL_ANSWER = /So the answer is (.+?)\.?\s*$/;

export function extractSyntheticAnswer(output: string, style: PromptStyle): string | null {
  const line = output.trim();
  if (style === 'direct') return line === '' ? null : normalizeSyntheticAnswer(line.split('\n')[0]);
  const match = FINAL_ANSWER.exec(line.split('\n')[0]);
  return match ? normalizeSyntheticAnswer(match[1]) : null;
}

export const syntheticSuite: QaSuiteSpec<SyntheticTask> = {
  load: (_dir, names) => loadSyntheticTasks(names),
  prompt: (_task, example, style) => (style === 'direct' ? example.input : `${example.input} ${COT_TRIGGER}`),
  extract: extractSyntheticAnswer,
  extractAfterTrigger: (output) => extractSyntheticAnswer(output, 'direct'),
  score: (prediction, example) => ({ correct: prediction !== null && prediction === normalizeSyntheticAnswer(example.targets[0]) }),
  randomBaseline: (task) => task.randomBaseline,
  // The longest direct answer is a sorted list.
  maxTokens: (_task, style) => (style === 'direct' ? 32 : COT_TARGET_TOKENS),
  // Zero-shot prompts: there is no exemplar for a run-on output to imitate.
  nextQuestionMarkers: () => [],
};
