import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ConfigError } from '../../runtime/config-error.ts';
import { EngineError } from '../../runtime/engine/engine-api.ts';
import { EngineClient } from '../../runtime/engine/engine-client.ts';
import { engineNiceFromEnv } from '../../runtime/engine/thread-priority.ts';
import { engineStallMsFromEnv } from '../../runtime/engine/worker-watch.ts';
import { adapterLimitsFromEnv } from '../../runtime/engine/adapter-config.ts';
import { freedMemoryKeepMsFromEnv } from '../../runtime/freed-memory.ts';
import { sessionConfigFromEnv, usesIntegerGemm } from '../../runtime/device/device-config.ts';
import { describeWeightLevels, integerGemmWeightLevels } from '../../runtime/device/integer-gemm-range.ts';
import { FULL_WEIGHT_LEVELS } from '../../runtime/graph/quantize-weights.ts';
import { placementWarnings } from '../../runtime/device/node-placement.ts';
import { ModelCatalog } from '../../runtime/versions/model-catalog.ts';
import { VersionStore, versionStorePath } from '../../runtime/versions/version-store.ts';
import { insufficientStorage, isStorageFull } from '../../server/api-error.ts';
import { buildApp } from '../../server/app.ts';
import { Lab } from '../../server/lab.ts';
import { Serving } from '../../server/server-context.ts';
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

/** The lab, or, when the disk is full, the error that says why there is none. */
function openLab(open: () => Lab): { lab?: Lab; labError?: unknown } {
  try {
    return { lab: open() };
  } catch (err) {
    if (!isStorageFull(err)) throw err;
    return { labError: err };
  }
}

/** The version store; on a full disk one in memory, so the base models still serve (aliases not kept). */
function openStore(storeDir: string): VersionStore {
  try {
    return VersionStore.open(versionStorePath(storeDir));
  } catch (err) {
    if (!isStorageFull(err)) throw err;
    return VersionStore.open(':memory:');
  }
}

const NO_MODEL =
  'no model to serve: set FLAN_MODEL=<dir> or pass --model <dir>, a model directory in the Hugging Face layout ' +
  '(config.json, model.safetensors, tokenizer.json, generation_config.json)';

/** A base model to serve: the name clients call it by and its directory. */
export interface BaseModelSpec {
  name: string;
  dir: string;
}

/**
 * FLAN_MODEL / --model: one directory, or a comma list of `[name=]dir` (the name defaults to the
 * directory's base name). `--model-id` renames a single model.
 */
export function parseModelSpecs(spec: string, singleName?: string): BaseModelSpec[] {
  const models = spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      const dir = resolve(eq === -1 ? part : part.slice(eq + 1));
      return { name: eq === -1 ? basename(dir) : part.slice(0, eq), dir };
    });
  if (models.length === 0) throw new ConfigError(NO_MODEL);
  if (singleName !== undefined) {
    if (models.length > 1) throw new ConfigError('--model-id names one model; with several, write name=dir for each');
    models[0].name = singleName;
  }
  const names = new Set(models.map((m) => m.name));
  if (names.size !== models.length) throw new ConfigError(`two models share a name in "${spec}"; write name=dir for each`);
  for (const m of models) if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(m.name)) throw new ConfigError(`model name "${m.name}" must be letters, digits, '.', '_' or '-'`);
  return models;
}

/** FLAN_MODEL_MEMORY_MB: the weights of loaded versions kept at most (idle ones are unloaded past it). */
function modelMemoryBytes(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.FLAN_MODEL_MEMORY_MB;
  if (raw === undefined || raw === '') return undefined;
  const mb = Number(raw);
  if (!Number.isInteger(mb) || mb < 1) throw new ConfigError(`FLAN_MODEL_MEMORY_MB must be a whole number of MiB, not "${raw}"`);
  return mb * 2 ** 20;
}

/**
 * `flan-serve serve`: listens at once (so /healthz answers and /readyz says 503 while loading), starts
 * the engine worker, loads the base models and serves them by name with every version in the store.
 * SIGINT/SIGTERM shut down gracefully; a second signal exits at once.
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Serve models over the OpenAI-style HTTP API and websocket chat')
    .option('--model <spec>', 'model directory, or a comma list of name=dir (default: $FLAN_MODEL, else the embedded models/flan-mini)')
    .option('--model-id <name>', 'the name clients use for a single model (default: the directory name)')
    .option('--host <host>', 'address to listen on (default: $HOST or 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: $PORT or 8080)')
    .action(async (opts: ServeOptions) => {
      const spec = opts.model ?? process.env.FLAN_MODEL ?? embeddedModelDir();
      if (!spec) throw new ConfigError(NO_MODEL);
      const models = parseModelSpecs(spec, opts.modelId);
      const config = serverConfigFromEnv({ ...process.env, ...(opts.host ? { HOST: opts.host } : {}), ...(opts.port ? { PORT: opts.port } : {}) });
      const memory = modelMemoryBytes(process.env);
      const dataDir = resolve(process.env.FLAN_DATA_DIR || 'data');
      // The app's logger exists only once the app is built, after the engine it reports on.
      const logs: { error?: (obj: object, msg: string) => void } = {};
      const session = sessionConfigFromEnv();
      const engine = new EngineClient({
        session,
        nice: engineNiceFromEnv(process.env),
        stallMs: engineStallMsFromEnv(process.env),
        limits: { ...(memory ? { modelMemoryBytes: memory } : {}), ...adapterLimitsFromEnv(process.env), ...freedMemoryKeepMsFromEnv(process.env) },
        onRestart: (err) => logs.error?.({ err }, 'the engine worker died or stalled; a new one was started and its requests answered 503'),
      });
      // Versions and aliases: shared by every replica that mounts FLAN_STORE_DIR (files, jobs and eval
      // runs stay in this replica's FLAN_DATA_DIR).
      const storeDir = resolve(process.env.FLAN_STORE_DIR || dataDir);
      const catalog = new ModelCatalog(openStore(storeDir), engine);
      const serving = new Serving(engine, catalog);
      // A full disk must not take inference down with it: the server then runs without its lab (507).
      const { lab, labError } = openLab(() => Lab.open({ dataDir, catalog, ...(process.env.FLAN_STORE_DIR ? { versionsDir: join(storeDir, 'models') } : {}) }));
      const labUnavailable = labError === undefined ? undefined : insufficientStorage(`${dataDir} is full`);
      const app = await buildApp({ serving, lab, labUnavailable, config, logger: { level: 'info' } });
      logs.error = (obj, msg) => app.log.error(obj, msg);
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
        for (const model of models) {
          // When its weights were written, so the listing does not change with each restart.
          await catalog.addBase(model.name, model.dir, Math.floor(statSync(model.dir).mtimeMs / 1000));
          app.log.info({ model: model.name, dir: model.dir, version: catalog.store.alias(model.name)?.versionId }, 'model ready');
        }
        serving.ready = true;
        app.log.info({ device: session.device, nodePlacement: engine.nodePlacement }, 'execution providers per graph');
        // A silent fall-back to the CPU is a bug to surface, not hide.
        for (const warning of placementWarnings(engine.nodePlacement ?? [])) app.log.warn(warning);
        // Asked here of the same CPU the engine's thread runs on: a narrower range is worth an operator's notice.
        if (usesIntegerGemm(session)) {
          const levels = await integerGemmWeightLevels();
          if (levels !== FULL_WEIGHT_LEVELS) app.log.warn(describeWeightLevels(levels));
        }
      } catch (err) {
        await app.close();
        // A base model that does not load is the user's to fix: one line, not a stack.
        throw err instanceof EngineError ? new ConfigError(err.message) : err;
      }
      await stopped;
    });
}
