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
});
