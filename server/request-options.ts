import type { ChainOfThought, GenerationRequest, SamplingOptions, SelfConsistency, Vote } from '../runtime/engine/engine-api.ts';
import type { components } from '../openapi/types.gen.ts';
import { badRequest } from './api-error.ts';
import type { GenerationResult } from './generation-run.ts';

type Schemas = components['schemas'];
export type FlanOptions = Schemas['FlanOptions'];
export type FlanResult = Schemas['FlanResult'];

/** The OpenAI sampling fields both completion routes (and the websocket) share; null means "not given". */
export interface OpenAiSampling {
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  n?: number | null;
  stop?: Schemas['Stop'];
  seed?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
}

const given = <T>(value: T | null | undefined): value is T => value !== null && value !== undefined;

/**
 * OpenAI's fields as the engine's options. Fields not given stay unset so the engine applies the
 * model's defaults. `logprobs` is the number of alternatives the engine must return (0: none).
 */
export function samplingOptions(body: OpenAiSampling, logprobs: number): Partial<SamplingOptions> {
  const options: Partial<SamplingOptions> = {};
  if (given(body.max_tokens)) options.maxTokens = body.max_tokens;
  if (given(body.temperature)) options.temperature = body.temperature;
  if (given(body.top_p)) options.topP = body.top_p;
  if (given(body.n)) options.n = body.n;
  if (given(body.stop)) options.stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (given(body.seed)) options.seed = body.seed;
  if (given(body.presence_penalty)) options.presencePenalty = body.presence_penalty;
  if (given(body.frequency_penalty)) options.frequencyPenalty = body.frequency_penalty;
  if (logprobs > 0) options.logprobs = logprobs;
  return options;
}

/** The `flan` extension object as the engine's chain-of-thought and self-consistency requests. */
export function flanOptions(
  flan: FlanOptions | undefined,
  n: number | null | undefined,
): Pick<GenerationRequest, 'chainOfThought' | 'selfConsistency'> {
  if (!flan) return {};
  const out: { chainOfThought?: ChainOfThought; selfConsistency?: SelfConsistency } = {};
  const cot = flan.chain_of_thought;
  if (cot) {
    if (cot.mode === 'few-shot' && !cot.exemplars?.length) {
      throw badRequest('Few-shot chain of thought needs at least one exemplar', 'flan.chain_of_thought.exemplars');
    }
    out.chainOfThought = { mode: cot.mode, ...(cot.exemplars ? { exemplars: cot.exemplars } : {}) };
  }
  const sc = flan.self_consistency;
  if (sc) {
    // The k samples are the response's choices; a separate n would make the vote ambiguous.
    if (given(n) && n !== 1) throw badRequest('n cannot be combined with flan.self_consistency: its samples are the choices', 'n');
    out.selfConsistency = { samples: sc.samples, temperature: sc.temperature ?? 0.7 };
  }
  return out;
}

/** Choices per prompt: self-consistency's samples, or n. */
export function samplesPerPrompt(n: number | null | undefined, flan: FlanOptions | undefined): number {
  return flan?.self_consistency?.samples ?? (given(n) ? n : 1);
}

/** One prompt's chain-of-thought outcome: the prompt the model saw, per-sample answers, the vote. */
export interface PromptOutcome {
  prompt: string;
  answers: (string | null | undefined)[];
  vote?: Vote;
}

export function outcomeOf(result: GenerationResult): PromptOutcome {
  return { prompt: result.prompt, answers: result.samples.map((s) => s.answer), vote: result.vote };
}

/** The response's `flan` object: what the model saw, each sample's extracted answer, and the vote. */
export function flanResult(outcomes: PromptOutcome[]): FlanResult {
  return {
    prompts: outcomes.map((o) => ({
      prompt: o.prompt,
      answers: o.answers.map((a) => a ?? null),
      vote: o.vote ? { answer: o.vote.answer, share: o.vote.share, tally: o.vote.tally } : null,
    })),
  };
}

/** Usage over several prompts, in the model's own tokens. */
export function usage(parts: { promptTokens: number; completionTokens: number }[]): Schemas['Usage'] {
  const prompt_tokens = parts.reduce((a, p) => a + p.promptTokens, 0);
  const completion_tokens = parts.reduce((a, p) => a + p.completionTokens, 0);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}
