import type { FastifyReply } from 'fastify';
import type { ApiError } from './api-error.ts';

/**
 * Server-sent events as OpenAI streams them: one JSON object per `data:` line, `data: [DONE]` last.
 * The reply is hijacked, so fastify does not also try to send it; writes after the client left are
 * dropped rather than thrown, because the generation is being cancelled by then anyway.
 */
export class SseWriter {
  private readonly raw: FastifyReply['raw'];

  constructor(reply: FastifyReply) {
    reply.hijack();
    this.raw = reply.raw;
    this.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // Proxies such as nginx buffer responses by default, which would hold tokens back.
      'x-accel-buffering': 'no',
    });
  }

  get open(): boolean {
    return !this.raw.writableEnded && !this.raw.destroyed;
  }

  send(data: unknown): void {
    if (this.open) this.raw.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  done(): void {
    if (!this.open) return;
    this.raw.write('data: [DONE]\n\n');
    this.raw.end();
  }

  /** An error after the stream began can only travel as an event; the stream ends without [DONE]. */
  fail(error: ApiError): void {
    if (!this.open) return;
    this.send(error.body());
    this.raw.end();
  }
}
