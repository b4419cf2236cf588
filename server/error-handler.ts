import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, badRequest, toApiError } from './api-error.ts';

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** `/messages/0/role` becomes `messages[0].role`, the way OpenAI names a nested param. */
function paramName(instancePath: string, child?: unknown): string | null {
  const parts = instancePath.split('/').filter(Boolean);
  if (typeof child === 'string') parts.push(child);
  if (parts.length === 0) return null;
  return parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/**
 * One readable message for a failed schema check. Ajv reports an anyOf as one error per branch and
 * then "must match a schema in anyOf"; the branches' expected types say more, so they are merged,
 * unless a branch of the right type failed on something else.
 */
export function validationError(errors: AjvError[], context: string): ApiError {
  const last = errors[errors.length - 1];
  const first = errors[0];
  if (last.keyword === 'anyOf' || last.keyword === 'oneOf') {
    const here = errors.filter((e) => e.instancePath === last.instancePath && e.keyword === 'type');
    const types = [...new Set(here.flatMap((e) => [e.params.type].flat() as string[]))];
    const param = paramName(last.instancePath);
    // A branch whose type matched failed on something else (a list too long): that is the real problem.
    const inMatchedBranch = errors.find((e) => e !== last && !here.includes(e));
    if (inMatchedBranch) return plainError(inMatchedBranch, context);
    if (types.length > 0) return badRequest(`${param ?? context} must be ${types.join(' or ')}`, param, 'invalid_type');
    return plainError(last, context);
  }
  if (first.keyword === 'required') {
    const param = paramName(first.instancePath, first.params.missingProperty);
    return badRequest(`Missing required parameter: '${param}'`, param, 'missing_required_parameter');
  }
  if (first.keyword === 'additionalProperties') {
    const param = paramName(first.instancePath, first.params.additionalProperty);
    return badRequest(`Unrecognized request argument supplied: ${param}`, param, 'unknown_parameter');
  }
  return plainError(first, context);
}

/** Ajv's wording for counts ("must NOT have more than 4 items") put plainly. */
const BOUNDS: Record<string, (limit: unknown) => string> = {
  maxItems: (n) => `must have at most ${n} items`,
  minItems: (n) => `must have at least ${n} items`,
  maxLength: (n) => `must be at most ${n} characters long`,
  minLength: (n) => `must be at least ${n} characters long`,
};

function plainError(error: AjvError, context: string): ApiError {
  const param = paramName(error.instancePath);
  const code = error.keyword === 'type' ? 'invalid_type' : 'invalid_value';
  const message = BOUNDS[error.keyword]?.(error.params.limit) ?? error.message ?? 'is invalid';
  return badRequest(`${param ?? context} ${message}`, param, code);
}

/** fastify's own failures (body parsing, limits, schema checks) in the API's error shape. */
function fromFastifyError(err: FastifyError): ApiError | undefined {
  if (err.validation) return validationError(err.validation as AjvError[], err.validationContext ?? 'body');
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return badRequest(`We could not parse the JSON body of your request: ${err.message}`, null, 'invalid_json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return badRequest('The request body is empty; expected a JSON object', null, 'invalid_json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
      return new ApiError(413, 'invalid_request_error', `The request body is larger than this server accepts`, 'request_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'invalid_request_error', 'Send the body as application/json', 'unsupported_media_type');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return badRequest('The Content-Length header does not match the body', null, 'invalid_content_length');
  }
  // Other client errors fastify raises carry a 4xx status and a safe message.
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new ApiError(err.statusCode, 'invalid_request_error', err.message, err.code ?? null);
  }
  return undefined;
}

export function sendApiError(reply: FastifyReply, error: ApiError): FastifyReply {
  return reply.code(error.status).headers(error.headers).type('application/json').send(error.body());
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = (err instanceof Error && fromFastifyError(err)) || toApiError(err);
    if (apiError.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: apiError.code, status: apiError.status }, apiError.message);
    return sendApiError(reply, apiError);
  });
}
