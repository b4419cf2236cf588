import type { BbhCotPrompt } from '../benchmarks/bbh-loader.ts';
import { COT_TRIGGER } from '../../runtime/engine/chain-of-thought.ts';
import type { PromptStyle } from './modes.ts';

/**
 * BBH prompts as Suzgun et al. and the Flan paper build them: the published cot-prompts text, then
 * "Q: <input>\nA: Let's think step by step."; the direct (answer-only) prompt keeps the same
 * description and exemplars with each answer reduced to its final answer.
 */
export function buildBbhPrompt(prompt: BbhCotPrompt, input: string, style: PromptStyle): string {
  if (style === 'cot') return `${prompt.text}\n\nQ: ${input}\nA: ${COT_TRIGGER}`;
  if (style === 'zero-shot-cot') return `Q: ${input}\nA: ${COT_TRIGGER}`;
  const shots = prompt.exemplars.map((e) => `Q: ${e.input}\nA: ${e.target}`);
  return [...(prompt.description ? [prompt.description] : []), ...shots, `Q: ${input}\nA:`].join('\n\n');
}
