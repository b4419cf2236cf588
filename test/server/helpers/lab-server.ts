import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { createEngine } from '../../../runtime/engine/t5-engine.ts';
import { buildApp } from '../../../server/app.ts';
import { Lab } from '../../../server/lab.ts';

export const ADMIN = 'sk-admin';
export const USER = 'sk-user';
/** The name clients use for the tiny model; it keeps reaching whichever version is active. */
export const BASE_MODEL = 'flan-tiny';
export const BASE_VERSION = 'flan-tiny-base';

export interface LabServer {
  app: FastifyInstance;
  lab: Lab;
  url: string;
  /** The official client, with the admin key (fine-tuning routes take it; /v1 accepts it too); a placeholder on a keyless server. */
  client: OpenAI;
  close(): Promise<void>;
}

export interface LabServerOptions {
  /** Keys as in ServerConfig; default an API key (USER) and the admin key (ADMIN). */
  keys?: { apiKeys: string[]; adminKey?: string };
  /** The served model's name and its base version id; default BASE_MODEL and BASE_VERSION. */
  model?: { id: string; version: string };
}

/**
 * The server as `flan-serve serve` builds it with a data directory: a tiny model as the base version,
 * files, fine-tuning jobs and eval runs under dataDir. Opening the same dataDir again is a restart.
 */
export async function startLabServer(dataDir: string, modelDir: string, options: LabServerOptions = {}): Promise<LabServer> {
  const { keys = { apiKeys: [USER], adminKey: ADMIN }, model = { id: BASE_MODEL, version: BASE_VERSION } } = options;
  // Training processes take their thread count from FLAN_THREADS; tests share two cores.
  process.env.FLAN_THREADS = '1';
  const session = { device: 'cpu' as const, threads: 1 };
  const lab = Lab.open({ dataDir, session });
  const engine = await createEngine({ modelDir, modelId: model.id, session });
  const restoreError = await lab.models.serve(engine, { id: model.version, modelId: model.id, dir: modelDir });
  if (restoreError) throw restoreError;
  const app = await buildApp({ registry: lab.models, lab, config: keys });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const client = new OpenAI({ apiKey: keys.adminKey ?? 'keyless', baseURL: `${url}/v1`, maxRetries: 0 });
  return { app, lab, url, client, close: () => app.close() };
}

/** Polls until `done` holds for what `read` returns (no time limit of its own: the test's applies). */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, pauseMs = 50): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}
