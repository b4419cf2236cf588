import type { MmluTask } from '../benchmarks/mmlu-loader.ts';
import { MMLU_COT_FILE } from '../benchmarks/mmlu-loader.ts';
import type { QaExample } from '../benchmarks/types.ts';
import { COT_TRIGGER } from '../../runtime/engine/chain-of-thought.ts';
import type { PromptStyle } from './modes.ts';
import { PromptUnavailableError } from './prompt-unavailable-error.ts';

const LETTERS = ['A', 'B', 'C', 'D'];

/** Hendrycks et al.'s format (their evaluate.py), which the Flan paper's 5-shot direct MMLU uses. */
function formatQuestion(question: string, choices: string[]): string {
  return `${question}${choices.map((c, i) => `\n${LETTERS[i]}. ${c}`).join('')}\nAnswer:`;
}

export function mmluHeader(subject: string): string {
  return `The following are multiple choice questions (with answers) about ${subject.replace(/_/g, ' ')}.\n\n`;
}

export function buildMmluPrompt(task: MmluTask, example: QaExample, style: PromptStyle): string {
  const choices = example.choices ?? [];
  if (style === 'direct') {
    const shots = task.exemplars.map((e) => `${formatQuestion(e.input, e.choices ?? [])} ${e.target}\n\n`).join('');
    return `${mmluHeader(task.name)}${shots}${formatQuestion(example.input, choices)}`;
  }
  if (style === 'zero-shot-cot') return `${mmluHeader(task.name)}${formatQuestion(example.input, choices)} ${COT_TRIGGER}`;
  if (!task.cotPrompt) {
    throw new PromptUnavailableError(`MMLU ${task.name}: --mode cot needs the CoT exemplars in ${MMLU_COT_FILE} beside dev/ and test/`);
  }
  // chain-of-thought-hub's CoT prompts put the options on one line, "(A) x (B) y ...".
  const options = choices.map((c, i) => `(${LETTERS[i]}) ${c}`).join(' ');
  return `${task.cotPrompt.replace(/\s+$/, '')}\n\nQ: ${example.input}\n${options}\nA: ${COT_TRIGGER}`;
}
