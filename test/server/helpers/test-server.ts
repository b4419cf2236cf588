import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { loadTokenizer, type Tokenizer } from '../../../runtime/checkpoint/tokenizer.ts';
import type { Engine } from '../../../runtime/engine/engine-api.ts';
import { createEngine, type EngineLimits } from '../../../runtime/engine/t5-engine.ts';
import { buildApp, type AppOptions } from '../../../server/app.ts';
import { InMemoryModelRegistry } from '../../../server/model-registry.ts';
import { tokenizerDir } from '../../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../../helpers/tiny-model.ts';

export const TINY_MODEL = 'flan-tiny';

/** A real engine over a seeded tiny model: one onnxruntime thread, since tests share two cores. */
export async function tinyEngine(opts: { seed?: number; modelId?: string; limits?: Partial<EngineLimits> } = {}): Promise<Engine> {
  return createEngine({
    modelDir: makeTinyModelDir({ seed: opts.seed ?? 1 }),
    modelId: opts.modelId ?? TINY_MODEL,
    session: { device: 'cpu', threads: 1 },
    limits: opts.limits,
  });
}

let tokenizer: Tokenizer | undefined;
export function t5Tokenizer(): Tokenizer {
  tokenizer ??= loadTokenizer(tokenizerDir);
  return tokenizer;
}

export interface TestServer {
  app: FastifyInstance;
  registry: InMemoryModelRegistry;
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

/** Builds the app over the given engines (the first is active) and listens on a free loopback port. */
export async function startTestServer(
  engines: Engine[],
  config: Partial<AppOptions['config']> = {},
): Promise<TestServer> {
  const registry = new InMemoryModelRegistry();
  engines.forEach((engine, i) => registry.add({ id: `v${i + 1}`, source: `test engine ${i + 1}`, createdAt: 1_700_000_000 + i }, engine));
  const app = await buildApp({ registry, config: { apiKeys: [], ...config } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, registry, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** POST a JSON body (or a raw string, sent as is) with an optional bearer key. */
export function post(url: string, body: unknown, key?: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export function get(url: string, key?: string): Promise<Response> {
  return fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
}

/** A response body as JSON; tests read its fields freely and check its shape with expectMatchesSchema. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const json = (res: Response): Promise<any> => res.json();
