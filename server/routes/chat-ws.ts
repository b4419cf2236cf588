import type { FastifyInstance } from 'fastify';
import { ApiError, badRequest, shuttingDown } from '../api-error.ts';
import { ChatSession, type WsServerMessage } from '../chat-session.ts';
import { routeSchema } from '../openapi-spec.ts';
import type { ServerContext } from '../server-context.ts';

/** Websocket chat: one ChatSession per socket; see the /v1/chat/ws description in openapi.yaml. */
export async function chatWebsocketRoutes(app: FastifyInstance, opts: { ctx: ServerContext }): Promise<void> {
  const { ctx } = opts;
  // Refused before the upgrade, so the client gets an HTTP status rather than a socket that closes.
  const ready = async () => {
    if (ctx.lifecycle.closing) throw shuttingDown();
    ctx.defaultModel();
  };
  app.route({
    method: 'GET',
    url: '/v1/chat/ws',
    schema: routeSchema('get', '/v1/chat/ws'),
    onRequest: [ctx.auth('api'), ready],
    // A plain GET (no Upgrade header) reaches this instead of the socket handler.
    handler: async (_request, reply) => {
      reply.header('upgrade', 'websocket');
      throw new ApiError(426, 'invalid_request_error', 'This route is a websocket: send an Upgrade: websocket request', 'upgrade_required');
    },
    wsHandler: (socket, request) => {
      const send = (message: WsServerMessage) => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
      };
      const session = new ChatSession(ctx, send, request.log);
      socket.on('message', (data, isBinary) => {
        if (isBinary) send({ type: 'error', error: badRequest('Send JSON as text frames', null, 'binary_frame').body().error });
        else session.receive(data.toString());
      });
      socket.on('close', () => void session.close());
      send({ type: 'ready', model: ctx.defaultModel() });
    },
  });
}
