import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ConfigError } from '../../runtime/config-error.ts';
import { createEngine } from '../../runtime/engine/t5-engine.ts';
import { insufficientStorage, isStorageFull } from '../../server/api-error.ts';
import { buildApp } from '../../server/app.ts';
import { Lab } from '../../server/lab.ts';
import { InMemoryModelRegistry } from '../../server/model-registry.ts';
import { bindHost, isKeyless, serverConfigFromEnv } from '../../server/server-config.ts';

interface ServeOptions {
  model?: string;
  modelId?: string;
  host?: string;
  port?: string;
}

/** models/flan-mini, the embedded default, when this checkout has it. */
function embeddedModelDir(): string | undefined {
  const dir = fileURLToPath(new URL('../../models/flan-mini', import.meta.url));
  return existsSync(join(dir, 'config.json')) ? dir : undefined;
}

/** The lab under dataDir, or, when the disk is full, the error that says why there is none. */
function openLab(dataDir: string): { lab?: Lab; labError?: unknown } {
  try {
    return { lab: Lab.open({ dataDir }) };
  } catch (err) {
    if (!isStorageFull(err)) throw err;
    return { labError: err };
  }
}

const NO_MODEL =
  'no model to serve: set FLAN_MODEL=<dir> or pass --model <dir>, a model directory in the Hugging Face layout ' +
  '(config.json, model.safetensors, tokenizer.json, generation_config.json)';

/**
 * `flan-serve serve`: listens at once (so /healthz answers and /readyz says 503 while loading), then
 * loads the model and makes it the active version. SIGINT/SIGTERM shut down gracefully; a second
 * signal exits at once.
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Serve a model over the OpenAI-style HTTP API and websocket chat')
    .option('--model <dir>', 'model directory (default: $FLAN_MODEL, else the embedded models/flan-mini)')
    .option('--model-id <name>', 'the model name clients use (default: the directory name)')
    .option('--host <host>', 'address to listen on (default: $HOST or 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: $PORT or 8080)')
    .action(async (opts: ServeOptions) => {
      const modelDir = opts.model ?? process.env.FLAN_MODEL ?? embeddedModelDir();
      if (!modelDir) throw new ConfigError(NO_MODEL);
      const config = serverConfigFromEnv({ ...process.env, ...(opts.host ? { HOST: opts.host } : {}), ...(opts.port ? { PORT: opts.port } : {}) });
      // Uploaded files, fine-tuning jobs, model versions and eval runs live here across restarts. A full
      // disk must not take inference down with it: the server then runs without them (their routes 507).
      const dataDir = resolve(process.env.FLAN_DATA_DIR || 'data');
      const { lab, labError } = openLab(dataDir);
      // Serves the model when the lab cannot: no versions on disk, activation history in memory only.
      const inferenceOnly = new InMemoryModelRegistry();
      const registry = lab?.models ?? inferenceOnly;
      const labUnavailable = labError === undefined ? undefined : insufficientStorage(`${dataDir} is full`);
      const app = await buildApp({ registry, lab, labUnavailable, config, logger: { level: 'info' } });
      if (labError) app.log.error({ err: labError }, `${dataDir} is full: serving inference only; files, fine-tuning and evals answer 507`);
      const { host, overridden } = bindHost(config);
      if (overridden) app.log.warn(`HOST=${overridden} ignored: with no FLAN_API_KEYS the API is open, so it listens on ${host} only`);
      else if (isKeyless(config)) app.log.warn(`no FLAN_API_KEYS: the API is open and listens on loopback (${host}) only`);
      await app.listen({ host, port: config.port });

      const stopped = new Promise<void>((done) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) process.exit(130);
          stopping = true;
          app.log.info(`${signal}: shutting down (in-flight requests get ${config.limits.shutdownGraceMs} ms)`);
          // Bounded: whatever still holds the process past the grace period and a margin is cut.
          setTimeout(() => {
            app.log.error('shutdown overran its bound; exiting');
            process.exit(0);
          }, config.limits.shutdownGraceMs + 15_000).unref();
          app.close().then(done, (err: unknown) => {
            app.log.error({ err }, 'shutdown failed; exiting');
            done();
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });

      try {
        const dir = resolve(modelDir);
        const engine = await createEngine({ modelDir: dir, modelId: opts.modelId });
        const model = engine.modelId;
        const restoreError = lab ? await lab.models.serve(engine, { id: basename(dir), modelId: model, dir }) : inferenceOnly.add({ id: basename(dir), source: dir }, engine);
        if (restoreError) app.log.error({ err: restoreError }, 'the version active before the restart did not load; serving the base model');
        app.log.info({ model, dir, version: (await registry.list()).activeId }, 'model ready');
      } catch (err) {
        await app.close();
        throw err;
      }
      await stopped;
    });
}
