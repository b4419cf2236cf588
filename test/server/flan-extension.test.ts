import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationEvent, GenerationRequest } from '../../runtime/engine/engine-api.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { sampleEvents, ScriptedEngine } from './helpers/scripted-engine.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { json, post, startTestServer, t5Tokenizer, tinyEngine, TINY_MODEL, type TestServer } from './helpers/test-server.ts';

/** Three chain-of-thought samples, two of which answer 4: what self-consistency should vote for. */
async function* votingScript(request: GenerationRequest): AsyncGenerator<GenerationEvent> {
  const samples = [
    ['2 and 2 make 4.', '4'],
    ['Two plus two is 5.', '5'],
    ['Adding gives 4.', '4'],
  ];
  for (const [i, [text, answer]] of samples.entries()) yield* sampleEvents([text], 'stop', i, answer);
  const prompt = `Q: ${String(request.prompt)}\nA: Let's think step by step.`;
  yield { type: 'done', promptTokens: 12, completionTokens: 3, prompt, vote: { answer: '4', share: 2 / 3, tally: { '4': 2, '5': 1 } } };
}

describe.skipIf(!hasShared)('the flan extension: chain of thought and self-consistency', () => {
  let server: TestServer;
  let engine: ScriptedEngine;
  beforeAll(async () => {
    engine = new ScriptedEngine(TINY_MODEL, t5Tokenizer(), votingScript);
    server = await startTestServer(engine);
  });
  afterAll(() => server?.close());

  it('asks the engine for k samples and returns every answer and the vote tally', async () => {
    const res = await post(`${server.url}/v1/completions`, {
      model: TINY_MODEL,
      prompt: 'What is 2 + 2?',
      flan: { self_consistency: { samples: 3, temperature: 0.5 } },
    });
    const body = await json(res);
    expectMatchesSchema('Completion', body);
    expect(engine.requests.at(-1)?.selfConsistency).toEqual({ samples: 3, temperature: 0.5 });
    expect(body.choices.map((c: { index: number; text: string }) => [c.index, c.text])).toEqual([
      [0, '2 and 2 make 4.'],
      [1, 'Two plus two is 5.'],
      [2, 'Adding gives 4.'],
    ]);
    expect(body.flan).toEqual({
      prompts: [
        {
          prompt: "Q: What is 2 + 2?\nA: Let's think step by step.",
          answers: ['4', '5', '4'],
          vote: { answer: '4', share: 2 / 3, tally: { '4': 2, '5': 1 } },
        },
      ],
    });
  });

  it('sends the flan object in the last chunk of a stream, before [DONE]', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${server.url}/v1`, maxRetries: 0 });
    // The extension object is not in OpenAI's types; the client sends unknown fields as given.
    const params: OpenAI.ChatCompletionCreateParamsStreaming & { flan: object } = {
      model: TINY_MODEL,
      messages: [{ role: 'user', content: 'What is 2 + 2?' }],
      stream: true,
      flan: { self_consistency: { samples: 3 }, chain_of_thought: { mode: 'zero-shot' } },
    };
    const stream = await client.chat.completions.create(params);
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk as typeof chunk & { flan?: unknown });
    expect(engine.requests.at(-1)).toMatchObject({ chainOfThought: { mode: 'zero-shot' }, selfConsistency: { samples: 3, temperature: 0.7 } });
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.flan).toMatchObject({ prompts: [{ answers: ['4', '5', '4'], vote: { answer: '4' } }] });
  });

  it('passes few-shot exemplars to the engine', async () => {
    const exemplars = [{ question: 'What is 1 + 1?', rationale: 'One and one make two.', answer: '2' }];
    await post(`${server.url}/v1/completions`, { model: TINY_MODEL, prompt: 'What is 2 + 2?', flan: { chain_of_thought: { mode: 'few-shot', exemplars } } });
    expect(engine.requests.at(-1)?.chainOfThought).toEqual({ mode: 'few-shot', exemplars });
  });
});

describe.skipIf(!hasShared)('the flan extension on the real engine', () => {
  it('shows the chain-of-thought prompt the model saw, counted in its usage', async () => {
    const server = await startTestServer(await tinyEngine());
    try {
      const res = await post(`${server.url}/v1/completions`, {
        model: TINY_MODEL,
        prompt: 'If I have 3 apples and eat one, how many are left?',
        max_tokens: 8,
        flan: { chain_of_thought: { mode: 'zero-shot' } },
      });
      const body = await json(res);
      expectMatchesSchema('Completion', body);
      const seen = body.flan.prompts[0].prompt as string;
      expect(seen).toMatch(/Let's think step by step\.$/);
      expect(body.usage.prompt_tokens).toBe(t5Tokenizer().encode(seen).length);
      expect(body.flan.prompts[0].answers).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});
