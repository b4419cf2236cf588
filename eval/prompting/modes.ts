/** How a question is put to the model (the Flan paper's direct, CoT, CoT + self-consistency, zero-shot CoT). */
export const MODES = ['direct', 'cot', 'cot-sc', 'zero-shot-cot'] as const;
export type Mode = (typeof MODES)[number];

/** The prompt a few-shot or zero-shot prompt builder renders: direct and CoT share everything else. */
export type PromptStyle = 'direct' | 'cot' | 'zero-shot-cot';

export function promptStyle(mode: Mode): PromptStyle {
  return mode === 'cot-sc' ? 'cot' : mode;
}

/** Kojima et al.'s second stage: appended after the reasoning to make the model state an answer. */
export const ANSWER_TRIGGER = 'Therefore, the answer is';

/**
 * Few-shot exemplars are separated by a blank line; a completion that reaches one has started
 * inventing the next question, so generation stops there.
 */
export const EXEMPLAR_SEPARATOR = '\n\n';
