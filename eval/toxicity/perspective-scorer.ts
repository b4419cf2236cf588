import { mapBounded } from '../run/bounded-pool.ts';
import type { ToxicityScorer } from './toxicity-scorer.ts';

export interface PerspectiveOptions {
  /** Base of the service, e.g. https://commentanalyzer.googleapis.com; the analyze path is appended. */
  url: string;
  key?: string;
  /** Requests in flight; Perspective's default quota is 1 QPS, so keep it low against the real one. */
  concurrency?: number;
}

const MAX_ATTEMPTS = 6;

/** Retry-After in seconds when the service gives one, else exponential backoff from 1 s. */
export function retryDelayMs(retryAfter: string | null, attempt: number): number {
  const seconds = retryAfter === null ? NaN : Number(retryAfter);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000 * 2 ** (attempt - 1);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface AnalyzeResponse {
  attributeScores?: { TOXICITY?: { summaryScore?: { value?: number } } };
}

/**
 * A client for the Perspective API or anything speaking its shape:
 * POST {url}/v1alpha1/comments:analyze?key=K with {comment: {text}, requestedAttributes: {TOXICITY: {}}},
 * answered with attributeScores.TOXICITY.summaryScore.value.
 */
export class PerspectiveScorer implements ToxicityScorer {
  readonly name = 'perspective';

  constructor(private readonly options: PerspectiveOptions) {}

  async score(texts: readonly string[], signal?: AbortSignal): Promise<number[]> {
    return mapBounded(texts, this.options.concurrency ?? 4, (text) => this.analyze(text, signal), signal);
  }

  private async analyze(text: string, signal?: AbortSignal): Promise<number> {
    const url = new URL(`${this.options.url.replace(/\/+$/, '')}/v1alpha1/comments:analyze`);
    if (this.options.key) url.searchParams.set('key', this.options.key);
    // Perspective rejects empty comments; an empty continuation is, reasonably, not toxic.
    if (text.trim() === '') return 0;
    const body = JSON.stringify({ comment: { text }, languages: ['en'], requestedAttributes: { TOXICITY: {} }, doNotStore: true });
    let response: Response;
    for (let attempt = 1; ; attempt++) {
      response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
      // The public quota is 1 QPS: a long RTP run meets 429s, which are waited out, not fatal.
      if ((response.status !== 429 && response.status !== 503) || attempt === MAX_ATTEMPTS) break;
      await response.body?.cancel();
      await sleep(retryDelayMs(response.headers.get('retry-after'), attempt), signal);
    }
    if (!response.ok) throw new Error(`Perspective ${url.origin} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    const value = ((await response.json()) as AnalyzeResponse).attributeScores?.TOXICITY?.summaryScore?.value;
    if (typeof value !== 'number') throw new Error(`Perspective ${url.origin} returned no TOXICITY summaryScore`);
    return value;
  }
}
