import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { expectMatchesSchema } from './helpers/spec-check.ts';
import { json, post, startTestServer, t5Tokenizer, tinyEngine, TINY_MODEL, type TestServer } from './helpers/test-server.ts';

describe.skipIf(!hasShared)('POST /v1/flan/score', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(await tinyEngine({ seed: 4 }));
  });
  afterAll(() => server?.close());

  const score = (body: unknown) => post(`${server.url}/v1/flan/score`, body);

  it('returns the log-likelihood of each candidate in order, with token counts and usage (values checked against PyTorch in test/engine/score-candidates.test.ts)', async () => {
    const prompt = 'Is this review positive or negative? The acting was brilliant.';
    const res = await score({ model: TINY_MODEL, prompt, candidates: ['positive', 'negative'] });
    expect(res.status).toBe(200);
    const body = await json(res);
    expectMatchesSchema('ScoreResponse', body);
    expect(body.scores.map((s: { candidate: string }) => s.candidate)).toEqual(['positive', 'negative']);
    for (const s of body.scores) {
      expect(s.logprob).toBeLessThan(0);
      expect(s.tokens).toBe(t5Tokenizer().encode(s.candidate).length);
    }
    expect(body.usage.prompt_tokens).toBe(t5Tokenizer().encode(prompt).length);
  });

  it('answers bad requests in OpenAI error shape', async () => {
    const empty = await score({ model: TINY_MODEL, prompt: 'x', candidates: [] });
    expect(empty.status).toBe(400);
    expect((await json(empty)).error).toMatchObject({ type: 'invalid_request_error' });
    const unknown = await score({ model: 'nope', prompt: 'x', candidates: ['a'] });
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error.code).toBe('model_not_found');
    // Token ids outside the vocabulary are the client's mistake, checked as for completions.
    const outside = await score({ model: TINY_MODEL, prompt: [5, 10 ** 6], candidates: ['a'] });
    expect(outside.status).toBe(400);
    expect((await json(outside)).error).toMatchObject({ type: 'invalid_request_error', param: 'prompt' });
  });
});
