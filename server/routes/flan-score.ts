import type { FastifyInstance } from 'fastify';
import type { components } from '../../openapi/types.gen.ts';
import { routeSchema } from '../openapi-spec.ts';
import type { ServerContext } from '../server-context.ts';

type ScoreRequest = components['schemas']['ScoreRequest'];
type ScoreResponse = components['schemas']['ScoreResponse'];

/** POST /v1/flan/score: rank classification by the engine (runtime/engine/score-candidates.ts). */
export async function flanScoreRoutes(app: FastifyInstance, opts: { ctx: ServerContext }): Promise<void> {
  const { ctx } = opts;
  app.post('/v1/flan/score', { schema: routeSchema('post', '/v1/flan/score'), onRequest: ctx.auth('api') }, async (request) => {
    const body = request.body as ScoreRequest;
    const { engine, ref } = ctx.modelFor(body.model);
    const { scores, promptTokens } = await engine.score({ model: ref, prompt: body.prompt, candidates: body.candidates });
    const response: ScoreResponse = {
      object: 'flan.score',
      model: body.model,
      scores: scores.map((s, index) => ({ index, candidate: body.candidates[index], logprob: s.logprob, tokens: s.tokens })),
      usage: { prompt_tokens: promptTokens, candidate_tokens: scores.reduce((sum, s) => sum + s.tokens, 0) },
    };
    return response;
  });
}
