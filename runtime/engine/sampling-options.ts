import { EngineError, type SamplingOptions } from './engine-api.ts';

interface Bounds {
  maxNewTokens: number;
  defaultMaxTokens: number;
  maxBatchSequences: number;
}

const MAX_STOP_SEQUENCES = 4;
const MAX_LOGPROBS = 20;

/**
 * Fills defaults and checks every field, naming the one at fault, so a bad request fails before it
 * takes a batch slot.
 */
export function validateSampling(input: Partial<SamplingOptions>, bounds: Bounds): SamplingOptions {
  const check = (ok: boolean, param: string, message: string) => {
    if (!ok) throw new EngineError('invalid_request', message, param);
  };
  const o: SamplingOptions = {
    maxTokens: input.maxTokens ?? Math.min(bounds.defaultMaxTokens, bounds.maxNewTokens),
    temperature: input.temperature ?? 0,
    topK: input.topK ?? 0,
    topP: input.topP ?? 1,
    repetitionPenalty: input.repetitionPenalty ?? 1,
    presencePenalty: input.presencePenalty ?? 0,
    frequencyPenalty: input.frequencyPenalty ?? 0,
    stop: input.stop ?? [],
    n: input.n ?? 1,
    logprobs: input.logprobs ?? 0,
    ...(input.seed !== undefined ? { seed: input.seed } : {}),
  };
  const isInt = Number.isInteger;
  check(isInt(o.maxTokens) && o.maxTokens >= 1 && o.maxTokens <= bounds.maxNewTokens, 'max_tokens', `max_tokens must be an integer from 1 to ${bounds.maxNewTokens}`);
  check(Number.isFinite(o.temperature) && o.temperature >= 0 && o.temperature <= 2, 'temperature', 'temperature must be between 0 and 2');
  check(isInt(o.topK) && o.topK >= 0, 'top_k', 'top_k must be a non-negative integer');
  check(Number.isFinite(o.topP) && o.topP > 0 && o.topP <= 1, 'top_p', 'top_p must be in (0, 1]');
  check(Number.isFinite(o.repetitionPenalty) && o.repetitionPenalty > 0, 'repetition_penalty', 'repetition_penalty must be positive');
  check(Math.abs(o.presencePenalty) <= 2, 'presence_penalty', 'presence_penalty must be between -2 and 2');
  check(Math.abs(o.frequencyPenalty) <= 2, 'frequency_penalty', 'frequency_penalty must be between -2 and 2');
  check(
    Array.isArray(o.stop) && o.stop.length <= MAX_STOP_SEQUENCES && o.stop.every((s) => typeof s === 'string' && s.length > 0),
    'stop',
    `stop must be at most ${MAX_STOP_SEQUENCES} non-empty strings`,
  );
  check(isInt(o.n) && o.n >= 1 && o.n <= bounds.maxBatchSequences, 'n', `n must be an integer from 1 to ${bounds.maxBatchSequences}`);
  check(isInt(o.logprobs) && o.logprobs >= 0 && o.logprobs <= MAX_LOGPROBS, 'logprobs', `logprobs must be an integer from 0 to ${MAX_LOGPROBS}`);
  check(o.seed === undefined || isInt(o.seed), 'seed', 'seed must be an integer');
  return o;
}
