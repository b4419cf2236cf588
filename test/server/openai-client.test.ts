import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderChatPrompt } from '../../server/chat-template.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { post, startTestServer, t5Tokenizer, tinyEngine, TINY_MODEL, type TestServer } from './helpers/test-server.ts';

const KEY = 'sk-test-key';

describe.skipIf(!hasShared)('the official openai client against flan-serve', () => {
  let server: TestServer;
  let client: OpenAI;
  const tokens = (text: string) => t5Tokenizer().encode(text).length;

  beforeAll(async () => {
    server = await startTestServer(await tinyEngine(), { apiKeys: [KEY] });
    client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}/v1`, maxRetries: 0 });
  });
  afterAll(() => server?.close());

  it('lists the served model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([TINY_MODEL]);
    expect((await client.models.retrieve(TINY_MODEL)).id).toBe(TINY_MODEL);
  });

  it('completes a prompt, counting usage in the model tokens', async () => {
    const prompt = 'Translate to German: good morning';
    const res = await client.completions.create({ model: TINY_MODEL, prompt, max_tokens: 8, temperature: 0 });
    expectMatchesSchema('Completion', res);
    expect(res.model).toBe(TINY_MODEL);
    expect(res.choices).toHaveLength(1);
    expect(res.usage?.prompt_tokens).toBe(tokens(prompt));
    expect(res.usage?.completion_tokens).toBeGreaterThan(0);
    expect(res.usage?.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
    if (res.choices[0].finish_reason === 'length') expect(res.usage?.completion_tokens).toBe(8);
  });

  it('streams the same text it returns whole, with a usage chunk', async () => {
    const request = { model: TINY_MODEL, prompt: 'Answer the question: what is the capital of France?', max_tokens: 12, temperature: 0 };
    const whole = await client.completions.create(request);
    const stream = await client.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      expectMatchesSchema('CompletionChunk', chunk);
      for (const choice of chunk.choices) {
        text += choice.text;
        finish = choice.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(whole.choices[0].text);
    expect(finish).toBe(whole.choices[0].finish_reason);
    expect(usage).toEqual(whole.usage);
  });

  it('ends a raw event stream with data: [DONE]', async () => {
    const res = await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'Hi', max_tokens: 3, stream: true }, KEY);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await res.text();
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(body.split('\n\n').filter(Boolean).every((event) => event.startsWith('data: '))).toBe(true);
  });

  it('gives n choices per prompt for several prompts, indexed prompt * n + sample', async () => {
    const prompts = ['Is the sky blue?', 'Name a colour.'];
    const res = await client.completions.create({ model: TINY_MODEL, prompt: prompts, n: 2, max_tokens: 4, temperature: 0.9, seed: 7 });
    expect(res.choices.map((c) => c.index).sort()).toEqual([0, 1, 2, 3]);
    expect(res.usage?.prompt_tokens).toBe(tokens(prompts[0]) + tokens(prompts[1]));
  });

  it('accepts token ids as the prompt', async () => {
    const ids = t5Tokenizer().encode('Summarize: the cat sat on the mat.');
    const asIds = await client.completions.create({ model: TINY_MODEL, prompt: ids, max_tokens: 5, temperature: 0 });
    const asText = await client.completions.create({ model: TINY_MODEL, prompt: 'Summarize: the cat sat on the mat.', max_tokens: 5, temperature: 0 });
    expect(asIds.choices[0].text).toBe(asText.choices[0].text);
    expect(asIds.usage?.prompt_tokens).toBe(ids.length);
  });

  it('repeats a sampled completion for the same seed', async () => {
    const request = { model: TINY_MODEL, prompt: 'Write a word.', max_tokens: 6, temperature: 1, seed: 42 };
    const [a, b] = [await client.completions.create(request), await client.completions.create(request)];
    expect(a.choices[0].text).toBe(b.choices[0].text);
  });

  it('returns log-probabilities that line up with the text', async () => {
    const res = await client.completions.create({ model: TINY_MODEL, prompt: 'Hello', max_tokens: 5, temperature: 0, logprobs: 2 });
    const lp = res.choices[0].logprobs!;
    expect(lp.tokens!.join('')).toBe(res.choices[0].text);
    expect(lp.tokens).toHaveLength(res.usage!.completion_tokens - (res.choices[0].finish_reason === 'stop' ? 1 : 0));
    expect(lp.token_logprobs!.every((x) => x <= 0)).toBe(true);
    expect(lp.top_logprobs!.every((top) => Object.keys(top).length <= 2)).toBe(true);
  });

  it('stops before a stop sequence and leaves it out', async () => {
    const request = { model: TINY_MODEL, prompt: 'Tell me a story.', max_tokens: 16, temperature: 0 };
    const full = (await client.completions.create(request)).choices[0].text;
    const stop = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 3);
    expect(stop.length).toBe(3);
    const res = await client.completions.create({ ...request, stop: [stop] });
    expect(res.choices[0].text).toBe(full.slice(0, full.indexOf(stop)));
    expect(res.choices[0].finish_reason).toBe('stop');
  });

  it('answers a chat, whole and streamed, rendering the messages by the documented template', async () => {
    const messages = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: 'What is 2 + 2?' },
    ];
    const whole = await client.chat.completions.create({ model: TINY_MODEL, messages, max_tokens: 10, temperature: 0 });
    expectMatchesSchema('ChatCompletion', whole);
    expect(whole.choices[0].message.role).toBe('assistant');
    expect(whole.usage?.prompt_tokens).toBe(tokens(renderChatPrompt(messages)));

    const stream = await client.chat.completions.create({ model: TINY_MODEL, messages, max_tokens: 10, temperature: 0, stream: true });
    let content = '';
    let role: string | undefined;
    for await (const chunk of stream) {
      expectMatchesSchema('ChatCompletionChunk', chunk);
      role ??= chunk.choices[0]?.delta.role;
      content += chunk.choices[0]?.delta.content ?? '';
    }
    expect(role).toBe('assistant');
    expect(content).toBe(whole.choices[0].message.content);
  });

  it('passes a lone user message through unchanged', async () => {
    const content = 'Translate to French: thank you';
    const res = await client.chat.completions.create({ model: TINY_MODEL, messages: [{ role: 'user', content }], max_tokens: 4, temperature: 0 });
    expect(res.usage?.prompt_tokens).toBe(tokens(content));
  });

  it('returns chat log-probabilities with top alternatives', async () => {
    const res = await client.chat.completions.create({
      model: TINY_MODEL,
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 4,
      temperature: 0,
      logprobs: true,
      top_logprobs: 3,
    });
    const content = res.choices[0].logprobs!.content!;
    expect(content.map((t) => t.token).join('')).toBe(res.choices[0].message.content);
    expect(content.every((t) => t.top_logprobs.length === 3)).toBe(true);
  });
});
