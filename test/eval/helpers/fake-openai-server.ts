import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The fields of an OpenAI completions request the harness sends. */
export interface CompletionBody {
  model: string;
  prompt: string;
  max_tokens: number;
  temperature: number;
  n?: number;
  top_p?: number;
  stop?: string[];
  logprobs?: number;
}

export interface FakeReply {
  texts: string[];
  /** Top alternatives at the first generated token. */
  topLogprobs?: Record<string, number>;
}

export type FakeHandler = (body: CompletionBody) => FakeReply | Promise<FakeReply>;

export interface FakeOpenAi {
  /** The server root; the harness appends /v1. */
  url: string;
  requests: CompletionBody[];
  /** Most requests that were being answered at the same time. */
  maxInFlight: number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A scripted OpenAI-compatible completions endpoint on 127.0.0.1, answering with whatever the test decides. */
export async function startFakeOpenAi(handler: FakeHandler): Promise<FakeOpenAi> {
  const state = { requests: [] as CompletionBody[], inFlight: 0, maxInFlight: 0 };
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/completions') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error', param: null, code: null } }));
      return;
    }
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    try {
      const body = JSON.parse(await readBody(req)) as CompletionBody;
      state.requests.push(body);
      const reply = await handler(body);
      const choices = reply.texts.map((text, index) => ({
        index,
        text,
        finish_reason: 'stop',
        logprobs: reply.topLogprobs
          ? { tokens: [text], token_logprobs: [reply.topLogprobs[text] ?? -1], top_logprobs: [reply.topLogprobs], text_offset: [0] }
          : null,
      }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ id: `cmpl-${state.requests.length}`, object: 'text_completion', created: 0, model: body.model, choices }),
      );
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(
        JSON.stringify({ error: { message: (err as Error).message, type: 'server_error', param: null, code: null } }),
      );
    } finally {
      state.inFlight--;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: state.requests,
    get maxInFlight() {
      return state.maxInFlight;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
