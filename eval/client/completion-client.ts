import OpenAI from 'openai';

/** What the harness asks of a completions endpoint; one request, possibly several samples. */
export interface CompletionRequest {
  prompt: string;
  maxTokens: number;
  temperature: number;
  /** Samples wanted (self-consistency, RealToxicityPrompts). */
  n?: number;
  topP?: number;
  stop?: string[];
  /** Top alternatives per position; the harness reads only the first token's. */
  logprobs?: number;
}

export interface CompletionResult {
  texts: string[];
  /** token -> log probability at the first generated position, when logprobs were asked for. */
  firstTokenLogprobs?: Record<string, number>;
}

export interface CompletionClient {
  complete(request: CompletionRequest, signal?: AbortSignal): Promise<CompletionResult>;
}

/**
 * Rank classification through flan-serve's POST /v1/flan/score: each candidate's log-likelihood given
 * the prompt, in the candidates' order. OpenAI's API has no such request (its `echo` scores the
 * prompt, which an encoder-decoder does not model), so this works against flan-serve only.
 */
export interface RankScorer {
  score(prompt: string, candidates: readonly string[], signal?: AbortSignal): Promise<number[]>;
}

export interface EndpointOptions {
  /** The server's root (http://host:8080) or its OpenAI base URL (.../v1). */
  server: string;
  model: string;
  apiKey?: string;
  /** Retries of 429/5xx/connection errors, with the client's backoff (honours Retry-After). */
  maxRetries?: number;
}

/** The OpenAI /v1 base for a server URL: ours is served under /v1, as OpenAI-compatible servers are. */
export function openAiBaseUrl(server: string): string {
  const trimmed = server.replace(/\/+$/, '');
  return /\/v\d+$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
}

/**
 * Speaks to any OpenAI-compatible endpoint through the official client, using plain completions only,
 * so what is measured is what a user of the endpoint gets.
 */
export class OpenAiCompletionClient implements CompletionClient, RankScorer {
  private readonly client: OpenAI;

  constructor(private readonly options: EndpointOptions) {
    this.client = new OpenAI({
      baseURL: openAiBaseUrl(options.server),
      // The client refuses to start without a key; servers run without auth ignore it.
      apiKey: options.apiKey ?? 'no-key',
      maxRetries: options.maxRetries ?? 3,
    });
  }

  async complete(request: CompletionRequest, signal?: AbortSignal): Promise<CompletionResult> {
    const response = await this.client.completions.create(
      {
        model: this.options.model,
        prompt: request.prompt,
        max_tokens: request.maxTokens,
        temperature: request.temperature,
        ...(request.n !== undefined && request.n > 1 ? { n: request.n } : {}),
        ...(request.topP !== undefined ? { top_p: request.topP } : {}),
        ...(request.stop ? { stop: request.stop } : {}),
        ...(request.logprobs !== undefined ? { logprobs: request.logprobs } : {}),
      },
      // The openai client adds an abort listener to the signal it is given and never removes it: a
      // per-request dependent signal takes it, instead of the run's signal growing one per request.
      signal ? { signal: AbortSignal.any([signal]) } : {},
    );
    const choices = [...response.choices].sort((a, b) => a.index - b.index);
    const top = choices[0]?.logprobs?.top_logprobs?.[0];
    return { texts: choices.map((c) => c.text), ...(top ? { firstTokenLogprobs: top } : {}) };
  }

  async score(prompt: string, candidates: readonly string[], signal?: AbortSignal): Promise<number[]> {
    const response = await this.client.post<{ scores: { index: number; logprob: number }[] }>('/flan/score', {
      body: { model: this.options.model, prompt, candidates },
      ...(signal ? { signal: AbortSignal.any([signal]) } : {}),
    });
    return [...response.scores].sort((a, b) => a.index - b.index).map((s) => s.logprob);
  }
}

/**
 * n samples even from endpoints that cap or ignore `n`: asks again for whatever is missing.
 */
export async function completeSamples(
  client: CompletionClient,
  request: CompletionRequest,
  samples: number,
  signal?: AbortSignal,
): Promise<string[]> {
  const texts: string[] = [];
  while (texts.length < samples) {
    const got = await client.complete({ ...request, n: samples - texts.length }, signal);
    if (got.texts.length === 0) throw new Error('the endpoint returned a completion with no choices');
    texts.push(...got.texts.slice(0, samples - texts.length));
  }
  return texts;
}
