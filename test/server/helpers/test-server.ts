import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { loadTokenizer, type Tokenizer } from '../../../runtime/checkpoint/tokenizer.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../../runtime/engine/engine-api.ts';
import { createEngine, DEFAULT_LIMITS, EngineCore, type EngineLimits } from '../../../runtime/engine/engine-core.ts';
import { ModelCatalog } from '../../../runtime/versions/model-catalog.ts';
import { VersionStore } from '../../../runtime/versions/version-store.ts';
import { buildApp, type AppOptions } from '../../../server/app.ts';
import { Serving } from '../../../server/server-context.ts';
import { tokenizerDir } from '../../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../../helpers/tiny-model.ts';

export const TINY_MODEL = 'flan-tiny';

/** A real engine over a seeded tiny model: one onnxruntime thread, since tests share two cores. */
export async function tinyEngine(opts: { seed?: number; modelId?: string; limits?: Partial<EngineLimits> } = {}): Promise<EngineCore> {
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
  serving: Serving;
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

/**
 * Builds the app over an engine and listens on a free loopback port. The engine's model is the one
 * base model, served under its name (a scripted engine's `modelId`, or a real engine's default model);
 * without an engine the server stays not ready.
 */
export async function startTestServer(
  engine: (Engine & { modelId?: string }) | undefined,
  config: Partial<AppOptions['config']> = {},
  /** Finetuned versions of the base to register (scripted engines serve any id). */
  versions: string[] = [],
): Promise<TestServer> {
  const store = VersionStore.open(join(mkdtempSync(join(tmpdir(), 'flan-test-store-')), 'versions.sqlite'));
  const serving = engine ? new Serving(engine, new ModelCatalog(store, engine)) : notServing();
  if (engine) {
    const base = engine instanceof EngineCore ? engine.defaultModel! : { id: engine.modelId!, dir: `/scripted/${engine.modelId}` };
    await serving.catalog.addBase(base.id, base.dir, 1_700_000_000);
    for (const id of versions) store.add({ id, parentDir: base.dir, modelDir: `/scripted/${id}`, jobId: 'ftjob-test', heldOutLoss: null });
    serving.ready = true;
  }
  const app = await buildApp({ serving, config: { apiKeys: [], ...config } });
  app.addHook('onClose', async () => store.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, serving, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** A Serving that never becomes ready (no model), for apps built without a server. */
export function notServing(): Serving {
  const engine = new EngineCore(DEFAULT_LIMITS, { device: 'cpu', threads: 1 });
  return new Serving(engine, new ModelCatalog(VersionStore.open(':memory:'), engine));
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
