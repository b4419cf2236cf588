import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { GenerationEvent, GenerationRequest } from '../../runtime/engine/engine-api.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { sampleEvents, ScriptedEngine } from './helpers/scripted-engine.ts';
import { get, json, post, startTestServer, t5Tokenizer, TINY_MODEL } from './helpers/test-server.ts';
import { openSocket } from './helpers/ws-client.ts';

/**
 * A generation that says "one", then waits for shutdown: with a grace period it finishes once the
 * test releases it; without one it is cancelled, as the real engine does when the grace runs out.
 */
function drainingEngine(release: Promise<void>) {
  return new ScriptedEngine(TINY_MODEL, t5Tokenizer(), async function* (request: GenerationRequest, engine): AsyncGenerator<GenerationEvent> {
    yield { type: 'token', sample: 0, tokenId: 100, text: 'one' };
    const graceMs = await engine.closing;
    if (graceMs > 0) {
      await release;
      yield { type: 'token', sample: 0, tokenId: 101, text: 'two' };
      yield { type: 'sample_done', sample: 0, text: 'onetwo', finishReason: 'stop', completionTokens: 2 };
    } else {
      yield* sampleEvents([], 'cancelled');
    }
    yield { type: 'done', promptTokens: 1, completionTokens: 2, prompt: String(request.prompt) };
  });
}

async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, text: string): Promise<string> {
  let seen = '';
  while (!seen.includes(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += new TextDecoder().decode(value);
  }
  return seen;
}

describe.skipIf(!hasShared)('graceful shutdown', () => {
  it('refuses new work while in-flight requests finish within the grace period', async () => {
    let release!: () => void;
    const engine = drainingEngine(new Promise<void>((resolve) => (release = resolve)));
    const server = await startTestServer(engine, { limits: { shutdownGraceMs: 60_000 } });
    const res = await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi', stream: true });
    const reader = res.body!.getReader();
    await readUntil(reader, '"one"');

    const closed = server.close();
    await engine.closing;
    const ready = await get(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect((await json(ready)).error.code).toBe('shutting_down');
    const refused = await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi' });
    expect(refused.status).toBe(503);

    release();
    const rest = await readUntil(reader, '[DONE]');
    expect(rest).toContain('"two"');
    expect(rest.endsWith('data: [DONE]\n\n')).toBe(true);
    await closed;
  });

  it('ends streams cancelled at the end of the grace period with a shutting_down error event', async () => {
    const engine = drainingEngine(new Promise<void>(() => {}));
    const server = await startTestServer(engine, { limits: { shutdownGraceMs: 0 } });
    const res = await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi', stream: true });
    const reader = res.body!.getReader();
    await readUntil(reader, '"one"');
    const closed = server.close();
    const rest = await readUntil(reader, 'shutting_down');
    expect(rest).toContain('"code":"shutting_down"');
    expect(rest).not.toContain('[DONE]');
    await closed;
  });

  it('closes websocket sessions with 1001', async () => {
    const engine = drainingEngine(Promise.resolve());
    const server = await startTestServer(engine);
    const socket = await openSocket(`${server.url}/v1/chat/ws`);
    const code = new Promise<number>((resolve) => socket.once('close', (c) => resolve(c)));
    await server.close();
    expect(await code).toBe(1001);
  });

  it('closes in bounded time with 1001 sent even to a websocket client that never answers the close', async () => {
    const engine = drainingEngine(Promise.resolve());
    const server = await startTestServer(engine);
    const { port } = new URL(server.url);
    // A raw client: completes the handshake, then never reads or answers again (a frozen tab).
    const received: Buffer[] = [];
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.write(
      'GET /v1/chat/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    while (!Buffer.concat(received).includes('"ready"')) await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    await server.close();
    // Loose bound: well under fastify's 10 s hook timeout, which used to end shutdown with an error.
    expect(Date.now() - started).toBeLessThan(8_000);
    const all = Buffer.concat(received);
    const close = all.indexOf(Buffer.from([0x88, 0x02 + 'server shutting down'.length]));
    expect(close).toBeGreaterThan(0);
    expect(all.readUInt16BE(close + 2)).toBe(1001);
    socket.destroy();
  });
});
