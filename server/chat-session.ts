import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyBaseLogger } from 'fastify';
import type { components } from '../openapi/types.gen.ts';
import { ApiError, badRequest, toApiError } from './api-error.ts';
import { renderChatPrompt, type ChatMessage } from './chat-template.ts';
import { validationError } from './error-handler.ts';
import { startGeneration } from './generation-run.ts';
import { componentSchema } from './openapi-spec.ts';
import { flanOptions, flanResult, samplingOptions, usage } from './request-options.ts';
import type { ServerContext } from './server-context.ts';

type Schemas = components['schemas'];
type WsStart = Schemas['WsStart'];
export type WsServerMessage = Schemas['WsServerMessage'];

// Each client message type is checked against its own schema from the spec, so errors name the field.
const ajv = new Ajv({ allowUnionTypes: true });
const validators: Record<string, ValidateFunction> = {
  start: ajv.compile(componentSchema('WsStart')),
  cancel: ajv.compile(componentSchema('WsCancel')),
  reset: ajv.compile(componentSchema('WsReset')),
};

interface RunningTurn {
  id: string;
  controller: AbortController;
  finished: Promise<void>;
}

/**
 * One websocket conversation, independent of the socket: it parses client messages, runs turns on the
 * active engine and keeps the history. The route feeds it frames and closes it with the socket, which
 * cancels the running turn so its batch slot is freed.
 */
export class ChatSession {
  private history: ChatMessage[] = [];
  private system?: string;
  private running?: RunningTurn;
  private turns = 0;
  private closed = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly send: (message: WsServerMessage) => void,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Handles one text frame; every problem is answered with an error message, never a throw. */
  receive(frame: string): void {
    let message: unknown;
    try {
      message = JSON.parse(frame);
    } catch {
      return this.error(badRequest('The message is not valid JSON', null, 'invalid_json'));
    }
    const type = (message as { type?: unknown } | null)?.type;
    const validate = typeof type === 'string' ? validators[type] : undefined;
    if (!validate) return this.error(badRequest("'type' must be one of start, cancel, reset", 'type'));
    if (!validate(message)) return this.error(validationError(validate.errors ?? [], 'message'));
    if (type === 'start') this.start(message as WsStart);
    else if (type === 'cancel') this.running?.controller.abort();
    else this.history = [];
  }

  /** The socket closed: cancel the running turn; the engine frees its slot before its next step. */
  close(): Promise<void> {
    this.closed = true;
    this.running?.controller.abort();
    return this.running?.finished ?? Promise.resolve();
  }

  private error(error: ApiError, id?: string): void {
    this.send({ type: 'error', ...(id !== undefined ? { id } : {}), error: error.body().error });
  }

  private start(message: WsStart): void {
    const id = message.id ?? String(++this.turns);
    if (this.running) {
      return this.error(new ApiError(409, 'invalid_request_error', `Turn ${this.running.id} is still running; cancel it first`, 'turn_in_progress'), id);
    }
    if (message.system !== undefined) this.system = message.system;
    const user: ChatMessage = { role: 'user', content: message.content };
    const messages: ChatMessage[] = [...(this.system ? [{ role: 'system' as const, content: this.system }] : []), ...this.history, user];
    const controller = new AbortController();
    let events;
    try {
      const { engine, ref } = this.ctx.modelFor(message.model ?? this.ctx.defaultModel());
      events = startGeneration(
        engine,
        {
          model: ref,
          prompt: renderChatPrompt(messages),
          sampling: { ...samplingOptions(message, 0), n: 1 },
          ...flanOptions(message.flan, 1),
          signal: controller.signal,
        },
        this.ctx.metrics,
        '/v1/chat/ws',
      );
    } catch (err) {
      return this.error(toApiError(err), id);
    }
    const turn: RunningTurn = { id, controller, finished: Promise.resolve() };
    this.running = turn;
    turn.finished = this.stream(turn, events, user).finally(() => {
      if (this.running === turn) this.running = undefined;
    });
  }

  private async stream(turn: RunningTurn, events: ReturnType<typeof startGeneration>, user: ChatMessage): Promise<void> {
    let text = '';
    let finishReason: 'stop' | 'length' | 'cancelled' = 'stop';
    // One per sample: self-consistency decodes several, and the vote is over all of their answers.
    const answers: (string | undefined)[] = [];
    try {
      for await (const event of events) {
        if (event.type === 'token' && event.text !== '' && event.sample === 0) {
          if (!this.closed) this.send({ type: 'delta', id: turn.id, text: event.text });
        } else if (event.type === 'sample_done') {
          // The conversation keeps the first sample's text; the others are only voted.
          if (event.sample === 0) {
            text = event.text;
            finishReason = event.finishReason;
          }
          answers[event.sample] = event.answer;
        } else if (event.type === 'done') {
          if (this.closed) return;
          // A cancelled turn is not part of the conversation: the user never saw it finish.
          if (finishReason !== 'cancelled') this.history.push(user, { role: 'assistant', content: text });
          this.send({
            type: 'done',
            id: turn.id,
            text,
            finish_reason: finishReason,
            usage: usage([event]),
            ...(event.vote || answers.some((a) => a !== undefined) ? { flan: flanResult([{ prompt: event.prompt, answers, vote: event.vote }]) } : {}),
          });
        }
      }
    } catch (err) {
      this.log.warn({ err }, 'websocket turn failed');
      if (!this.closed) this.error(toApiError(err), turn.id);
    }
  }
}
