import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { components } from '../../openapi/types.gen.ts';
import { servedVersionId } from '../../runtime/engine/engine-api.ts';
import { toApiError } from '../api-error.ts';
import { renderChatPrompt } from '../chat-template.ts';
import { collectAll, startAll, streamAll } from '../choice-streams.ts';
import { clientGoneSignal } from '../generation-run.ts';
import { chatLogprobs, engineLogprobs } from '../logprobs.ts';
import { routeSchema } from '../openapi-spec.ts';
import { flanOptions, flanResult, outcomeOf, samplesPerPrompt, samplingOptions, usage } from '../request-options.ts';
import type { ServerContext } from '../server-context.ts';
import { SseWriter } from '../sse.ts';

type ChatCompletionRequest = components['schemas']['ChatCompletionRequest'];
type ChatCompletion = components['schemas']['ChatCompletion'];
type ChatCompletionChunk = components['schemas']['ChatCompletionChunk'];

export async function chatCompletionRoutes(app: FastifyInstance, opts: { ctx: ServerContext }): Promise<void> {
  const { ctx } = opts;
  app.post(
    '/v1/chat/completions',
    { schema: routeSchema('post', '/v1/chat/completions'), onRequest: ctx.auth('api') },
    async (request, reply) => {
      const body = request.body as ChatCompletionRequest;
      const { engine, ref } = ctx.modelFor(body.model);
      const perPrompt = samplesPerPrompt(body.n, body.flan);
      const alternatives = body.top_logprobs ?? 0;
      const withLogprobs = body.logprobs === true;
      const clientGone = clientGoneSignal(reply.raw);
      const sampling = samplingOptions(
        { ...body, max_tokens: body.max_completion_tokens ?? body.max_tokens },
        withLogprobs ? engineLogprobs(alternatives) : 0,
      );
      const { streams, cancel } = await startAll(
        engine,
        [renderChatPrompt(body.messages)],
        { model: ref, sampling, ...flanOptions(body.flan, body.n) },
        clientGone,
        ctx.metrics,
        '/v1/chat/completions',
      );
      const head = { id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000), model: body.model, system_fingerprint: servedVersionId(ref) };

      if (!body.stream) {
        const [result] = await collectAll(streams, withLogprobs).catch((err) => {
          cancel();
          throw err;
        });
        const completion: ChatCompletion = {
          ...head,
          object: 'chat.completion',
          choices: result.samples.map((s, index) => ({
            index,
            message: { role: 'assistant' as const, content: s.text },
            finish_reason: s.finishReason === 'length' ? ('length' as const) : ('stop' as const),
            logprobs: withLogprobs ? chatLogprobs(s.tokens, alternatives) : null,
          })),
          usage: usage([result]),
          ...(body.flan ? { flan: flanResult([outcomeOf(result)]) } : {}),
        };
        return completion;
      }

      const sse = new SseWriter(reply);
      const chunk = (choices: ChatCompletionChunk['choices'], extra: Partial<ChatCompletionChunk> = {}): ChatCompletionChunk => ({
        ...head,
        object: 'chat.completion.chunk',
        choices,
        ...extra,
      });
      // OpenAI opens every choice with a role-only delta; clients build the message from it.
      for (let index = 0; index < perPrompt; index++) {
        sse.send(chunk([{ index, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
      }
      try {
        const [done] = await streamAll(
          streams,
          perPrompt,
          {
            token(index, event) {
              if (event.text === '' && !withLogprobs) return;
              const logprobs = withLogprobs ? chatLogprobs([event], alternatives) : null;
              sse.send(chunk([{ index, delta: { content: event.text }, finish_reason: null, logprobs }]));
            },
            sampleDone(index, event) {
              sse.send(chunk([{ index, delta: {}, finish_reason: event.finishReason === 'length' ? 'length' : 'stop' }]));
            },
          },
          clientGone,
        );
        if (body.stream_options?.include_usage || body.flan) {
          sse.send(
            chunk([], {
              ...(body.stream_options?.include_usage ? { usage: usage([done.done]) } : {}),
              ...(body.flan ? { flan: flanResult([{ prompt: done.done.prompt, answers: done.answers, vote: done.done.vote }]) } : {}),
            }),
          );
        }
        sse.done();
      } catch (err) {
        cancel();
        request.log.warn({ err }, 'stream failed');
        sse.fail(toApiError(err));
      }
      return reply;
    },
  );
}
