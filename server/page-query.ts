import { badRequest } from './api-error.ts';

/** OpenAI's cursor pagination: `after` the id of the previous page's last item, `limit` 1..100. */
export interface PageQuery {
  after?: string;
  limit: number;
}

export interface Page<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/**
 * The `after` and `limit` query parameters, checked. Query strings arrive as text and the app's
 * validator does not coerce types, so they are checked here against what openapi.yaml documents.
 */
export function pageQuery(query: unknown): PageQuery {
  const q = (query ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(q)) {
    if (key !== 'after' && key !== 'limit') throw badRequest(`Unrecognized query parameter: ${key}`, key, 'unknown_parameter');
  }
  if (q.after !== undefined && (typeof q.after !== 'string' || q.after === '')) throw badRequest('after must be an id', 'after');
  let limit = DEFAULT_LIMIT;
  if (q.limit !== undefined) {
    limit = typeof q.limit === 'string' && /^\d+$/.test(q.limit) ? Number(q.limit) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) throw badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}`, 'limit');
  }
  return { ...(typeof q.after === 'string' ? { after: q.after } : {}), limit };
}

/** One page of an in-memory list: the items after the one with id `after` (all when it is unknown). */
export function pageOf<T>(items: readonly T[], query: PageQuery, idOf: (item: T) => string): Page<T> {
  const start = query.after === undefined ? 0 : items.findIndex((item) => idOf(item) === query.after) + 1;
  const data = items.slice(start, start + query.limit);
  return { object: 'list', data, has_more: start + query.limit < items.length };
}

/** A page from a store that was asked for limit + 1 items, the extra one telling whether more exist. */
export function pageFromProbe<T>(items: readonly T[], limit: number): Page<T> {
  return { object: 'list', data: items.slice(0, limit), has_more: items.length > limit };
}
