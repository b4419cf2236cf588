import type { TokenEvent } from '../runtime/engine/engine-api.ts';
import type { components } from '../openapi/types.gen.ts';

type CompletionLogprobs = NonNullable<components['schemas']['CompletionLogprobs']>;
type ChatLogprobs = NonNullable<components['schemas']['ChatLogprobs']>;

/**
 * How many alternatives to ask the engine for. OpenAI's `logprobs: 0` still reports the chosen
 * token's log-probability, which the engine only does for k >= 1, so 0 asks for 1 and trims it.
 */
export function engineLogprobs(alternatives: number | null | undefined): number {
  return alternatives === null || alternatives === undefined ? 0 : Math.max(1, alternatives);
}

/**
 * The legacy completions format. Tokens are the text each token added, so they concatenate to the
 * choice's text; `offset` is where the first one starts (non-zero for a streamed chunk).
 */
export function completionLogprobs(tokens: TokenEvent[], alternatives: number, offset = 0): CompletionLogprobs {
  const textOffset: number[] = [];
  let at = offset;
  for (const t of tokens) {
    textOffset.push(at);
    at += t.text.length;
  }
  return {
    tokens: tokens.map((t) => t.text),
    token_logprobs: tokens.map((t) => t.logprob ?? 0),
    top_logprobs: tokens.map((t) =>
      Object.fromEntries((t.topLogprobs ?? []).slice(0, alternatives).map((alt) => [alt.token, alt.logprob])),
    ),
    text_offset: textOffset,
  };
}

const bytes = (text: string) => [...Buffer.from(text, 'utf8')];

export function chatLogprobs(tokens: TokenEvent[], alternatives: number): ChatLogprobs {
  return {
    content: tokens.map((t) => ({
      token: t.text,
      logprob: t.logprob ?? 0,
      bytes: bytes(t.text),
      top_logprobs: (t.topLogprobs ?? [])
        .slice(0, alternatives)
        .map((alt) => ({ token: alt.token, logprob: alt.logprob, bytes: bytes(alt.token) })),
    })),
  };
}
