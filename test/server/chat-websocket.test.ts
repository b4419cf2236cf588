import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationRequest } from '../../runtime/engine/engine-api.ts';
import { renderChatPrompt } from '../../server/chat-template.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { aborted, sampleEvents, ScriptedEngine } from './helpers/scripted-engine.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { startTestServer, t5Tokenizer, tinyEngine, TINY_MODEL, type TestServer } from './helpers/test-server.ts';
import { nextMessage, openSocket } from './helpers/ws-client.ts';

type Ws = Awaited<ReturnType<typeof openSocket>>;

/** Reads one turn: its deltas joined, and the done message. */
async function readTurn(socket: Ws) {
  let deltas = '';
  for (;;) {
    const message = await nextMessage(socket);
    expectMatchesSchema('WsServerMessage', message);
    if (message.type === 'delta') deltas += message.text;
    else if (message.type === 'done') return { deltas, done: message };
    else throw new Error(`unexpected message ${JSON.stringify(message)}`);
  }
}

describe.skipIf(!hasShared)('websocket chat with the real engine', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(await tinyEngine());
  });
  afterAll(() => server?.close());

  it('streams a turn as deltas, ends it with usage, and keeps the history for the next turn', async () => {
    const tokens = (text: string) => t5Tokenizer().encode(text).length;
    const socket = await openSocket(`${server.url}/v1/chat/ws`);
    socket.send(JSON.stringify({ type: 'start', id: 'turn-a', content: 'Hello there', max_tokens: 6, temperature: 0 }));
    const first = await readTurn(socket);
    expect(first.done).toMatchObject({ type: 'done', id: 'turn-a' });
    expect(first.done.text).toBe(first.deltas);
    expect(first.done.usage.prompt_tokens).toBe(tokens('Hello there'));
    expect(first.done.usage.completion_tokens).toBeGreaterThan(0);

    socket.send(JSON.stringify({ type: 'start', content: 'And then?', max_tokens: 6, temperature: 0 }));
    const second = await readTurn(socket);
    const transcript = renderChatPrompt([
      { role: 'user', content: 'Hello there' },
      { role: 'assistant', content: first.done.text },
      { role: 'user', content: 'And then?' },
    ]);
    expect(second.done.usage.prompt_tokens).toBe(tokens(transcript));
    socket.close();
  });
});

describe.skipIf(!hasShared)('websocket chat protocol', () => {
  let server: TestServer;
  let engine: ScriptedEngine;
  /** Turns that say "wait" stall until cancelled; others answer at once. */
  const script = async function* (request: GenerationRequest) {
    if (request.selfConsistency) {
      // Three samples interleaved, as the engine streams them: two say 4, one says 5.
      const texts = ['So the answer is 4.', 'So the answer is 5.', 'So the answer is 4.'];
      for (const [sample, text] of texts.entries()) yield { type: 'token' as const, sample, tokenId: 100 + sample, text };
      for (const [sample, text] of texts.entries()) {
        yield { type: 'sample_done' as const, sample, text, finishReason: 'stop' as const, completionTokens: 1, answer: text.slice(-2, -1) };
      }
      yield { type: 'done' as const, promptTokens: 3, completionTokens: 3, prompt: String(request.prompt), vote: { answer: '4', share: 2 / 3, tally: { '4': 2, '5': 1 } } };
      return;
    }
    if (String(request.prompt).includes('wait')) {
      yield { type: 'token' as const, sample: 0, tokenId: 100, text: 'thinking' };
      await aborted(request.signal);
      yield* sampleEvents([], 'cancelled');
    } else {
      yield* sampleEvents(['Sure', '.'], 'stop');
    }
    yield { type: 'done' as const, promptTokens: 3, completionTokens: 2, prompt: String(request.prompt) };
  };

  beforeAll(async () => {
    engine = new ScriptedEngine(TINY_MODEL, t5Tokenizer(), script);
    server = await startTestServer(engine);
  });
  afterAll(() => server?.close());
  const lastPrompt = () => engine.requests[engine.requests.length - 1].prompt;

  it('renders the system message and history, and forgets cancelled turns and reset history', async () => {
    const socket = await openSocket(`${server.url}/v1/chat/ws`);
    socket.send(JSON.stringify({ type: 'start', content: 'Hi', system: 'Be brief.' }));
    expect((await readTurn(socket)).done).toMatchObject({ id: '1', text: 'Sure.', finish_reason: 'stop' });
    expect(lastPrompt()).toBe('Be brief.\n\nUser: Hi\nAssistant:');

    socket.send(JSON.stringify({ type: 'start', content: 'wait' }));
    expect(await nextMessage(socket)).toEqual({ type: 'delta', id: '2', text: 'thinking' });
    socket.send(JSON.stringify({ type: 'start', content: 'too soon' }));
    expect(await nextMessage(socket)).toMatchObject({ type: 'error', id: '3', error: { code: 'turn_in_progress' } });
    socket.send(JSON.stringify({ type: 'cancel' }));
    expect((await readTurn(socket)).done).toMatchObject({ id: '2', finish_reason: 'cancelled' });

    socket.send(JSON.stringify({ type: 'start', content: 'Again' }));
    await readTurn(socket);
    expect(lastPrompt()).toBe('Be brief.\n\nUser: Hi\nAssistant: Sure.\nUser: Again\nAssistant:');

    socket.send(JSON.stringify({ type: 'reset' }));
    socket.send(JSON.stringify({ type: 'start', content: 'Fresh' }));
    await readTurn(socket);
    expect(lastPrompt()).toBe('Be brief.\n\nUser: Fresh\nAssistant:');
    socket.close();
  });

  it('streams one sample of a self-consistency turn and reports every sample\'s answer with the vote', async () => {
    const socket = await openSocket(`${server.url}/v1/chat/ws`);
    socket.send(JSON.stringify({ type: 'start', content: 'What is 2 + 2?', flan: { self_consistency: { samples: 3 } } }));
    const { deltas, done } = await readTurn(socket);
    expect(deltas).toBe('So the answer is 4.');
    expect(done).toMatchObject({ text: 'So the answer is 4.', flan: { prompts: [{ answers: ['4', '5', '4'], vote: { answer: '4' } }] } });
    socket.close();
  });

  it('cancels the running turn when the socket closes', async () => {
    const socket = await openSocket(`${server.url}/v1/chat/ws`);
    socket.send(JSON.stringify({ type: 'start', content: 'wait' }));
    expect((await nextMessage(socket)).type).toBe('delta');
    const request = engine.requests[engine.requests.length - 1];
    socket.close();
    await aborted(request.signal);
    expect(request.signal?.aborted).toBe(true);
  });
});
