import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { components } from '../../openapi/types.gen.ts';
import { servedVersionId } from '../../runtime/engine/engine-api.ts';
import { toApiError } from '../api-error.ts';
import { collectAll, startAll, streamAll } from '../choice-streams.ts';
import { clientGoneSignal } from '../generation-run.ts';
import { completionLogprobs, engineLogprobs } from '../logprobs.ts';
import { routeSchema } from '../openapi-spec.ts';
import { flanOptions, flanResult, outcomeOf, samplesPerPrompt, samplingOptions, usage } from '../request-options.ts';
import type { ServerContext } from '../server-context.ts';
import { SseWriter } from '../sse.ts';

type CompletionRequest = components['schemas']['CompletionRequest'];
type Completion = components['schemas']['Completion'];
type CompletionChunk = components['schemas']['CompletionChunk'];

/** OpenAI's four prompt forms (text, texts, token ids, lists of token ids) as a list of prompts. */
function promptList(prompt: CompletionRequest['prompt']): (string | number[])[] {
  if (typeof prompt === 'string') return [prompt];
  if (prompt.every((p) => typeof p === 'number')) return [prompt as number[]];
  return prompt as string[] | number[][];
}

export async function completionRoutes(app: FastifyInstance, opts: { ctx: ServerContext }): Promise<void> {
  const { ctx } = opts;
  app.post(
    '/v1/completions',
    { schema: routeSchema('post', '/v1/completions'), onRequest: ctx.auth('api') },
    async (request, reply) => {
      const body = request.body as CompletionRequest;
      const { engine, ref } = ctx.modelFor(body.model);
      const perPrompt = samplesPerPrompt(body.n, body.flan);
      const alternatives = body.logprobs ?? 0;
      const withLogprobs = body.logprobs !== null && body.logprobs !== undefined;
      const clientGone = clientGoneSignal(reply.raw);
      const { streams, cancel } = await startAll(
        engine,
        promptList(body.prompt),
        { model: ref, sampling: samplingOptions(body, engineLogprobs(body.logprobs)), ...flanOptions(body.flan, body.n) },
        clientGone,
        ctx.metrics,
        '/v1/completions',
      );
      const head = { id: `cmpl-${randomUUID()}`, object: 'text_completion' as const, created: Math.floor(Date.now() / 1000), model: body.model, system_fingerprint: servedVersionId(ref) };

      if (!body.stream) {
        // A failed prompt must not leave its siblings decoding for a response that will never be sent.
        const results = await collectAll(streams, withLogprobs).catch((err) => {
          cancel();
          throw err;
        });
        const completion: Completion = {
          ...head,
          choices: results.flatMap((r, p) =>
            r.samples.map((s, i) => ({
              index: p * perPrompt + i,
              text: s.text,
              finish_reason: s.finishReason === 'length' ? ('length' as const) : ('stop' as const),
              logprobs: withLogprobs ? completionLogprobs(s.tokens, alternatives) : null,
            })),
          ),
          usage: usage(results.map((r) => ({ promptTokens: r.promptTokens, completionTokens: r.completionTokens }))),
          ...(body.flan ? { flan: flanResult(results.map(outcomeOf)) } : {}),
        };
        return completion;
      }

      const sse = new SseWriter(reply);
      const offsets = new Map<number, number>();
      const chunk = (choices: CompletionChunk['choices'], extra: Partial<CompletionChunk> = {}): CompletionChunk => ({ ...head, choices, ...extra });
      try {
        const dones = await streamAll(
          streams,
          perPrompt,
          {
            token(index, event) {
              if (event.text === '' && !withLogprobs) return;
              const offset = offsets.get(index) ?? 0;
              offsets.set(index, offset + event.text.length);
              const logprobs = withLogprobs ? completionLogprobs([event], alternatives, offset) : null;
              sse.send(chunk([{ index, text: event.text, finish_reason: null, logprobs }]));
            },
            sampleDone(index, event) {
              sse.send(chunk([{ index, text: '', finish_reason: event.finishReason === 'length' ? 'length' : 'stop', logprobs: null }]));
            },
          },
          clientGone,
        );
        if (body.stream_options?.include_usage || body.flan) {
          sse.send(
            chunk([], {
              ...(body.stream_options?.include_usage ? { usage: usage(dones.map((d) => d.done)) } : {}),
              ...(body.flan ? { flan: flanResult(dones.map((d) => ({ prompt: d.done.prompt, answers: d.answers, vote: d.done.vote }))) } : {}),
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
