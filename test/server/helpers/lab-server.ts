import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { Engine } from '../../../runtime/engine/engine-api.ts';
import { DEFAULT_LIMITS, EngineCore } from '../../../runtime/engine/engine-core.ts';
import { EngineClient } from '../../../runtime/engine/engine-client.ts';
import { ModelCatalog } from '../../../runtime/versions/model-catalog.ts';
import { VersionStore, versionStorePath } from '../../../runtime/versions/version-store.ts';
import { buildApp } from '../../../server/app.ts';
import { Lab } from '../../../server/lab.ts';
import { Serving } from '../../../server/server-context.ts';

export const ADMIN = 'sk-admin';
export const USER = 'sk-user';
/** The name clients use for the tiny model; it keeps reaching whichever version is active. */
export const BASE_MODEL = 'flan-tiny';
/** The base checkpoint's own version id: it keeps naming the base weights after an activation. */
export const BASE_VERSION = 'flan-tiny@base';

export interface LabServer {
  app: FastifyInstance;
  lab: Lab;
  serving: Serving;
  url: string;
  /** The official client, with the admin key (fine-tuning routes take it; /v1 accepts it too); a placeholder on a keyless server. */
  client: OpenAI;
  close(): Promise<void>;
}

export interface LabServerOptions {
  /** Keys as in ServerConfig; default an API key (USER) and the admin key (ADMIN). */
  keys?: { apiKeys: string[]; adminKey?: string };
  /** The served model's name (default BASE_MODEL); its base version is `<name>@base`. */
  model?: string;
  /** Run the engine in its worker thread as the server does (default: in this thread, quicker to start). */
  worker?: boolean;
}

/**
 * The server as `flan-serve serve` builds it with a data directory: a tiny model as the base model,
 * files, fine-tuning jobs, versions and eval runs under dataDir. Opening the same dataDir again is a
 * restart.
 */
export async function startLabServer(dataDir: string, modelDir: string, options: LabServerOptions = {}): Promise<LabServer> {
  const { keys = { apiKeys: [USER], adminKey: ADMIN }, model = BASE_MODEL } = options;
  // Training processes take their thread count from FLAN_THREADS; tests share two cores.
  process.env.FLAN_THREADS = '1';
  const session = { device: 'cpu' as const, threads: 1 };
  const engine: Engine = options.worker ? new EngineClient({ session }) : new EngineCore(DEFAULT_LIMITS, session);
  const catalog = new ModelCatalog(VersionStore.open(versionStorePath(dataDir)), engine);
  const serving = new Serving(engine, catalog);
  const lab = Lab.open({ dataDir, catalog });
  await catalog.addBase(model, modelDir);
  serving.ready = true;
  const app = await buildApp({ serving, lab, config: keys });
  app.addHook('onClose', async () => catalog.store.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const client = new OpenAI({ apiKey: keys.adminKey ?? 'keyless', baseURL: `${url}/v1`, maxRetries: 0 });
  return { app, lab, serving, url, client, close: () => app.close() };
}

/** Polls until `done` holds for what `read` returns (no time limit of its own: the test's applies). */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, pauseMs = 50): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}
