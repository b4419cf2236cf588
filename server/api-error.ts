import { EngineError } from '../runtime/engine/engine-api.ts';
import { VersionError } from '../runtime/versions/version-store.ts';
import type { components } from '../openapi/types.gen.ts';

export type ErrorBody = components['schemas']['Error'];
export type ErrorType = ErrorBody['error']['type'];

/**
 * An error the API reports to its client, in OpenAI's shape. Route code throws these; the error
 * handler turns them (and fastify's and the engine's own errors) into responses.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = 'invalid_value') =>
  new ApiError(400, 'invalid_request_error', message, code, param);

export const modelNotFound = (model: string) =>
  new ApiError(404, 'invalid_request_error', `The model '${model}' does not exist`, 'model_not_found', 'model');

export const notReady = (message = 'No model is ready to serve yet; retry shortly') =>
  new ApiError(503, 'server_error', message, 'model_not_ready', null, { 'retry-after': '1' });

export const shuttingDown = () => new ApiError(503, 'server_error', 'The server is shutting down', 'shutting_down');

/** The engine's typed refusals, as HTTP: bad input is the client's, queue full asks for a retry. */
export function fromEngineError(err: EngineError): ApiError {
  switch (err.code) {
    case 'invalid_request':
      return badRequest(err.message, err.param ?? null);
    case 'prompt_too_long':
      return new ApiError(400, 'invalid_request_error', err.message, 'context_length_exceeded', err.param ?? 'prompt');
    case 'queue_full':
      return new ApiError(429, 'rate_limit_error', err.message, 'queue_full', null, {
        'retry-after': String(Math.max(1, Math.ceil(err.retryAfterSeconds ?? 1))),
      });
    case 'closed':
      return shuttingDown();
    case 'internal':
      return new ApiError(500, 'server_error', err.message, 'internal_error');
    case 'model_load_failed':
      return new ApiError(500, 'server_error', err.message, 'model_load_failed');
    case 'unavailable':
      return new ApiError(503, 'server_error', err.message, 'engine_restarted', null, { 'retry-after': '1' });
  }
}

/** The version store's refusals, as HTTP. */
export function fromVersionError(err: unknown): unknown {
  if (!(err instanceof VersionError)) return err;
  switch (err.code) {
    case 'unknown_version':
      return new ApiError(404, 'invalid_request_error', err.message, 'model_not_found', 'model');
    case 'no_previous_version':
      return new ApiError(409, 'invalid_request_error', err.message, 'no_previous_version');
    case 'version_in_use':
      return new ApiError(409, 'invalid_request_error', err.message, 'model_in_use', 'model');
    case 'no_alias':
      return new ApiError(400, 'invalid_request_error', err.message, 'no_alias', 'model');
    case 'load_failed':
      return new ApiError(500, 'server_error', err.message, 'load_failed');
  }
}

/** Error codes of a full disk or quota, from Node's fs and from SQLite. */
const STORAGE_FULL = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** Whether an error means the data directory cannot take more writes. */
export function isStorageFull(err: unknown): boolean {
  return STORAGE_FULL.has(String((err as { code?: unknown } | null)?.code));
}

export const insufficientStorage = (detail = 'the data directory is full') =>
  new ApiError(507, 'server_error', `This route needs the data directory, and ${detail}; inference still works`, 'insufficient_storage');

/** Any thrown value as an ApiError; unknown errors become a 500 that does not leak internals. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof EngineError) return fromEngineError(err);
  if (isStorageFull(err)) return insufficientStorage();
  return new ApiError(500, 'server_error', 'Internal server error', 'internal_error');
}
