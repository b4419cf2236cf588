import { MGSM_EXEMPLARS_FILE, type MgsmTask } from '../benchmarks/mgsm-loader.ts';
import { COT_TRIGGER } from '../../runtime/engine/chain-of-thought.ts';
import type { PromptStyle } from './modes.ts';
import { PromptUnavailableError } from './prompt-unavailable-error.ts';

/**
 * MGSM's native-exemplar prompt (Shi et al.): the 8 exemplars in the question's language, each with
 * its own "Question:" and "Step-by-Step Answer:" headers, then the question with the answer header
 * open. Direct mode shows the same exemplars with only the final number as the answer.
 */
export function buildMgsmPrompt(task: MgsmTask, input: string, style: PromptStyle): string {
  const { questionPrefix: q, answerPrefix: a } = task;
  if (style === 'zero-shot-cot') return `${q}${input}\n${a}${COT_TRIGGER}`;
  if (task.exemplars.length === 0) {
    throw new PromptUnavailableError(
      `MGSM ${task.name}: few-shot modes need ${MGSM_EXEMPLARS_FILE} (from github.com/google-research/url-nlp, mgsm/) beside the TSVs; only --mode zero-shot-cot works without it`,
    );
  }
  const shots = task.exemplars.map((e) => `${q}${e.input}\n${a}${style === 'cot' ? e.rationale : e.target}`);
  // The open answer header ends the prompt without its trailing space, which the model generates.
  return [...shots, `${q}${input}\n${a.trimEnd()}`].join('\n\n');
}
