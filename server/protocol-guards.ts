import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { ApiError, badRequest } from './api-error.ts';
import { sendApiError } from './error-handler.ts';
import { documentedRoutes } from './openapi-spec.ts';

/** Longest request target (path and query) served; past it, 414. Node refuses the whole head past 16 KiB (431). */
export const MAX_URL_BYTES = 8 * 1024;

/**
 * Errors Node's HTTP parser raises before fastify sees a request (a head too large, a body too slow,
 * garbage) in OpenAI's shape, written straight to the socket: there is no request object to reply on.
 * A head that overflows in its first line is a too-long URL (414), anywhere else too-large headers (431).
 */
export function clientErrorHandler(err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let error: ApiError;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    error = new ApiError(408, 'invalid_request_error', 'The request was not received in time', 'request_timeout');
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    const firstLine = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.indexOf('\r\n') : -1;
    error =
      firstLine === -1 || firstLine > MAX_URL_BYTES
        ? uriTooLong()
        : new ApiError(431, 'invalid_request_error', 'The request headers are larger than this server accepts', 'headers_too_large');
  } else {
    error = new ApiError(400, 'invalid_request_error', 'The request is not valid HTTP', 'bad_request');
  }
  if (socket.writable) {
    const body = JSON.stringify(error.body());
    socket.write(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** The router's own refusals (a path parameter too long, a malformed %-escape) in OpenAI's shape. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') sendApiError(reply, uriTooLong());
  else sendApiError(reply, badRequest('The request URL is malformed', null, 'invalid_url'));
}

const uriTooLong = () =>
  new ApiError(414, 'invalid_request_error', `The request URL is longer than this server accepts (${MAX_URL_BYTES} bytes)`, 'uri_too_long');

/** `/v1/models/:model` as a regular expression over concrete paths. */
const pathPattern = (route: string) => new RegExp(`^${route.replace(/:[^/]+/g, '[^/]+')}$`);

/** The methods the spec documents for a concrete path, for 405's Allow header. */
function methodsFor(path: string): string[] {
  return documentedRoutes()
    .map((r) => r.split(' ') as [string, string])
    .filter(([, route]) => pathPattern(route).test(path))
    .map(([method]) => method);
}

/**
 * What fastify would otherwise answer in its own shape, or not at all: an empty JSON body on a route
 * that takes none, too-long URLs, a method the path does not have (405), unknown routes. Unknown routes
 * and 405s answer without reading the body and close the connection, so that a body that never
 * arrives holds nothing.
 */
export function installProtocolGuards(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // OpenAI's Python client sends `content-type: application/json` and no body on body-less POSTs.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // A route whose body is optional declares a schema that admits null.
    const schema = request.routeOptions.schema?.body as { type?: unknown } | undefined;
    if (body === '' && (!schema || [schema.type].flat().includes('null'))) done(null, undefined);
    else parseJson(request, body as string, done);
  });

  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0];
    const allowed = methodsFor(path);
    reply.header('connection', 'close');
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      return sendApiError(
        reply.header('allow', allowed.join(', ')),
        new ApiError(405, 'invalid_request_error', `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`, 'method_not_allowed'),
      );
    }
    return sendApiError(reply, new ApiError(404, 'not_found_error', `Unknown route: ${request.method} ${path}`, 'unknown_route'));
  };
  // onRequest runs before the body is read: an unknown route is answered at once, whatever its body.
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.length > MAX_URL_BYTES) throw uriTooLong();
    if (request.is404) return notFound(request, reply);
  });
  app.setNotFoundHandler(notFound);
}
