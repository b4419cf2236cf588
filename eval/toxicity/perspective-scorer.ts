import { mapBounded } from '../run/bounded-pool.ts';
import type { ToxicityScorer } from './toxicity-scorer.ts';

export interface PerspectiveOptions {
  /** Base of the service, e.g. https://commentanalyzer.googleapis.com; the analyze path is appended. */
  url: string;
  key?: string;
  /** Requests in flight; Perspective's default quota is 1 QPS, so keep it low against the real one. */
  concurrency?: number;
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
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ comment: { text }, languages: ['en'], requestedAttributes: { TOXICITY: {} }, doNotStore: true }),
      signal,
    });
    if (!response.ok) throw new Error(`Perspective ${url.origin} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    const value = ((await response.json()) as AnalyzeResponse).attributeScores?.TOXICITY?.summaryScore?.value;
    if (typeof value !== 'number') throw new Error(`Perspective ${url.origin} returned no TOXICITY summaryScore`);
    return value;
  }
}
