import type { Exemplar, QaExample } from '../benchmarks/types.ts';
import { COT_TRIGGER } from '../../runtime/engine/chain-of-thought.ts';
import type { PromptStyle } from './modes.ts';
import { PromptUnavailableError } from './prompt-unavailable-error.ts';

/**
 * TyDiQA-GoldP 1-shot as in PaLM and Flan: passage, question, answer; the model copies a span. The
 * benchmark has no CoT exemplars, so only direct and zero-shot CoT exist.
 */
export function buildTydiqaPrompt(exemplars: Exemplar[], example: QaExample, style: PromptStyle): string {
  const block = (context: string, question: string) => `${context}\n\nQ: ${question}\n\nA:`;
  if (style === 'zero-shot-cot') return `${block(example.context ?? '', example.input)} ${COT_TRIGGER}`;
  if (style === 'cot') throw new PromptUnavailableError('TyDiQA has no chain-of-thought exemplars: use --mode direct or zero-shot-cot');
  const shots = exemplars.map((e) => `${block(e.context ?? '', e.input)} ${e.target}`);
  return [...shots, block(example.context ?? '', example.input)].join('\n\n');
}
