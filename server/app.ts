import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import type { ApiError } from './api-error.ts';
import { KeyChecker } from './auth.ts';
import { chooseWebsocketProtocol, installBrowserGuards, type BrowserPolicy } from './browser-guards.ts';
import { installErrorHandlers } from './error-handler.ts';
import type { Lab } from './lab.ts';
import { documentedRoutes } from './openapi-spec.ts';
import { adminEvalRoutes } from './routes/admin-evals.ts';
import { adminRoutes } from './routes/admin.ts';
import { chatCompletionRoutes } from './routes/chat-completions.ts';
import { chatWebsocketRoutes } from './routes/chat-ws.ts';
import { completionRoutes } from './routes/completions.ts';
import { consoleRoutes } from './routes/console.ts';
import { fileRoutes } from './routes/files.ts';
import { flanScoreRoutes } from './routes/flan-score.ts';
import { fineTuningRoutes } from './routes/fine-tuning.ts';
import { labUnavailableRoutes } from './routes/lab-unavailable.ts';
import { modelRoutes } from './routes/models.ts';
import { clientErrorHandler, frameworkErrors, installProtocolGuards, MAX_URL_BYTES } from './protocol-guards.ts';
import { opsRoutes } from './routes/ops.ts';
import { DEFAULT_LIMITS, NO_RATE_LIMIT, type ServerConfig } from './server-config.ts';
import { Lifecycle, ServerContext, type Serving } from './server-context.ts';
import { ServerMetrics } from './server-metrics.ts';

export interface AppOptions {
  /** The engine and the model names it serves; routes answer 503 until `serving.ready`. */
  serving: Serving;
  config: Pick<ServerConfig, 'apiKeys' | 'adminKey'> & { limits?: Partial<ServerConfig['limits']> } & Partial<BrowserPolicy>;
  /** fastify's pino options; false (the default) for silence, as tests want. */
  logger?: FastifyServerOptions['logger'];
  /** Files, fine-tuning jobs and eval runs (without it their routes answer 503). Closed with the app. */
  lab?: Lab;
  /** Without a lab, what its routes answer (default: 503, no data directory). */
  labUnavailable?: ApiError;
}

/**
 * The whole HTTP surface as a fastify instance, not yet listening. `app.close()` is the graceful
 * shutdown: new generations are refused, in-flight ones get the grace period, then websocket sessions
 * close and the listener stops.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const limits = { ...DEFAULT_LIMITS, ...options.config.limits };
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.bodyBytes,
    // A body that never finishes must not hold its socket (and file descriptor) forever: 408 past the
    // request timeout, which Node checks every connectionsCheckingInterval. Node 20 honours the
    // timeouts only when the server is constructed with them, hence `http` as well.
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(60_000, limits.requestTimeoutMs),
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, limits.requestTimeoutMs / 4)),
    },
    clientErrorHandler,
    frameworkErrors,
    routerOptions: { maxParamLength: MAX_URL_BYTES },
    // Close hooks wait out the grace period; fastify's default 10 s would end a longer one with an error.
    pluginTimeout: limits.shutdownGraceMs + 10_000,
    // fastify's own 503 while closing has its own body shape; the routes answer in OpenAI's instead.
    return503OnClosing: false,
    ajv: {
      // Wrong types must be refused, not coerced ("5" is not 5), and unknown fields reported, not dropped.
      customOptions: { coerceTypes: false, removeAdditional: false, allowUnionTypes: true },
    },
  });
  const lifecycle = new Lifecycle();
  const { lab } = options;
  const metrics = new ServerMetrics(
    () => options.serving.engine.stats(),
    () => options.serving.engine.nodePlacement ?? [],
    lab && (() => lab.jobs.countByStatus()),
  );
  const keys = new KeyChecker(options.config);
  const ctx = new ServerContext(options.serving, metrics, keys, limits, lifecycle);

  installErrorHandlers(app);
  // A route missing from the spec would be served but neither validated by it nor documented.
  const documented = new Set(documentedRoutes());
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      // HEAD mirrors GET; OPTIONS is the CORS preflight, which @fastify/cors answers for every route.
      if (method !== 'HEAD' && method !== 'OPTIONS' && !documented.has(`${method} ${route.url}`)) {
        throw new Error(`${method} ${route.url} is not described in openapi/openapi.yaml`);
      }
    }
  });
  // The API speaks JSON only; a text/plain body would otherwise reach the schema check as a string.
  app.removeContentTypeParser('text/plain');
  app.addHook('onResponse', async (request, reply) => {
    metrics.requests.inc({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode });
  });
  // A connection that has not sent a request is not reaped by server.close(): Node waits out its
  // headers timeout (a minute). A client that connected and then gave up would hold shutdown that long.
  const silentConnections = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    silentConnections.add(socket);
    socket.once('close', () => silentConnections.delete(socket));
  });
  for (const event of ['request', 'upgrade']) app.server.on(event, (request: IncomingMessage) => silentConnections.delete(request.socket));
  // Registered before the websocket plugin's own preClose, so sessions stay open while turns drain.
  app.addHook('preClose', async () => {
    // Eval runs are clients of this server: stopped first, they are left for the next start to mark
    // interrupted instead of failing on the refusals of a server that is closing.
    await options.lab?.evals.close();
    lifecycle.closing = true;
    await options.serving.engine.close(limits.shutdownGraceMs);
    for (const socket of silentConnections) socket.destroy();
    await closeWebsockets(app.websocketServer.clients);
  });

  await app.register(websocket, {
    options: { maxPayload: limits.websocketMessageBytes, handleProtocols: chooseWebsocketProtocol },
    errorHandler(error, socket, request) {
      // An oversized frame is the client's mistake; ws has already closed the socket with 1009.
      if ((error as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') request.log.info({ err: error }, 'websocket message too large');
      else {
        request.log.warn({ err: error }, 'websocket error');
        socket.terminate();
      }
    },
    preClose(done) {
      this.websocketServer.close(() => done());
    },
  });
  // After the websocket plugin: its onRequest hook marks upgrade requests, so that a refused one has its
  // socket closed instead of held open.
  await installBrowserGuards(app, { corsOrigins: options.config.corsOrigins ?? [], rateLimit: options.config.rateLimit ?? NO_RATE_LIMIT }, keys);
  installProtocolGuards(app);
  for (const routes of [opsRoutes, modelRoutes, completionRoutes, flanScoreRoutes, chatCompletionRoutes, chatWebsocketRoutes, adminRoutes]) {
    await app.register(routes, { ctx });
  }
  await app.register(consoleRoutes);
  if (lab) {
    const inUse = (id: string) => lab.jobs.trainingFilesInUse().has(resolve(lab.files.contentPath(id) ?? ''));
    await app.register(fileRoutes, { ctx, files: lab.files, inUse });
    await app.register(fineTuningRoutes, { ctx, services: lab.fineTuning() });
    await app.register(adminEvalRoutes, { ctx, evals: lab.evals });
    app.addHook('onClose', async () => lab.close());
  } else {
    await app.register(labUnavailableRoutes, { ctx, ...(options.labUnavailable ? { reason: options.labUnavailable } : {}) });
  }
  return app;
}

/** How long a websocket client gets to answer the server's close frame before its socket is cut. */
const WEBSOCKET_CLOSE_WAIT_MS = 1_000;

/**
 * Sends every session 1001 (going away), then cuts the sockets of clients that do not answer in time:
 * ws would wait 30 s for each, and shutdown must end in bounded time.
 */
async function closeWebsockets(clients: Set<WebSocket>): Promise<void> {
  const closed = [...clients].map((client) => {
    client.close(1001, 'server shutting down');
    return new Promise<void>((resolve) => (client.readyState === client.CLOSED ? resolve() : client.once('close', () => resolve())));
  });
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, WEBSOCKET_CLOSE_WAIT_MS).unref());
  await Promise.race([Promise.all(closed), deadline]);
  for (const client of clients) client.terminate();
}
