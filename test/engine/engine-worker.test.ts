import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError, type GenerationEvent } from '../../runtime/engine/engine-api.ts';
import { createEngine, modelRefFor, type EngineCore } from '../../runtime/engine/engine-core.ts';
import type { Worker } from 'node:worker_threads';
import { EngineClient, MAX_BYTES_PER_TOKEN, WORKER_YOUNG_GENERATION_MB } from '../../runtime/engine/engine-client.ts';
import { DEFAULT_ENGINE_NICE } from '../../runtime/engine/thread-priority.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';

const session = { device: 'cpu' as const, threads: 1 };

async function tokensOf(events: AsyncIterable<GenerationEvent>): Promise<number[]> {
  const ids: number[] = [];
  for await (const e of events) if (e.type === 'token') ids.push(e.tokenId);
  return ids;
}

describe.skipIf(!hasShared)('the engine core in its worker thread', () => {
  const dirA = hasShared ? makeTinyModelDir({ seed: 1 }) : '';
  const dirB = hasShared ? makeTinyModelDir({ seed: 2 }) : '';
  const a = modelRefFor(dirA, 'model-a');
  const b = modelRefFor(dirB, 'model-b');
  let client: EngineClient;
  let local: EngineCore;
  const restarts: Error[] = [];

  beforeAll(async () => {
    client = new EngineClient({ session, limits: { maxPromptTokens: 64 }, onRestart: (err) => restarts.push(err) });
    local = await createEngine({ modelDir: dirA, modelId: 'model-a', session });
  });
  afterAll(async () => {
    await client?.close();
    await local?.close();
  });

  it('generates what the same engine in this thread generates, for two models loaded on demand side by side', async () => {
    const prompts = ['color of the sky', 'translate to German: good morning', 'what is two plus two'];
    const greedy = (prompt: string, model = a) => ({ model, prompt, sampling: { maxTokens: 8 } });
    const expected = await Promise.all(prompts.map((p) => tokensOf(local.generate(greedy(p)))));
    const [fromA, fromB] = await Promise.all([
      Promise.all(prompts.map((p) => tokensOf(client.generate(greedy(p))))),
      Promise.all(prompts.map((p) => tokensOf(client.generate(greedy(p, b))))),
    ]);
    expect(fromA).toEqual(expected);
    // Different weights, different outputs: the router kept the two versions apart.
    expect(fromB).not.toEqual(expected);
    expect(client.stats().loadedModels).toBe(2);
  });

  it('refuses a prompt that cannot fit before copying it to the worker, and reports refusals through accepted', async () => {
    const huge = 'x'.repeat(64 * MAX_BYTES_PER_TOKEN + 1);
    const started = performance.now();
    expect(() => client.generate({ model: a, prompt: huge })).toThrow(EngineError);
    expect(performance.now() - started).toBeLessThan(50);

    const tooLong = client.generate({ model: a, prompt: 'word '.repeat(100) });
    await expect(tooLong.accepted).rejects.toMatchObject({ code: 'prompt_too_long' });
    const missing = client.generate({ model: { id: 'nowhere', dir: '/nonexistent/model' }, prompt: 'hi' });
    await expect(missing.accepted).rejects.toMatchObject({ code: 'model_load_failed' });
    await expect(tokensOf(missing)).rejects.toMatchObject({ code: 'model_load_failed' });
  });

  it('a worker that dies fails its requests with unavailable, then is replaced and serves again', async () => {
    // The worker dies (idle: terminating one in the middle of an onnxruntime run can abort the whole
    // process from inside the native binding) with a request sent to it that it never answers.
    const worker = (client as unknown as { worker: { terminate(): Promise<number> } }).worker;
    const dying = worker.terminate();
    const running = client.generate({ model: a, prompt: 'a long answer please', sampling: { maxTokens: 1000, temperature: 1 } });
    const outcome = tokensOf(running).then(
      () => 'finished',
      (err: EngineError) => err.code,
    );
    await dying;
    expect(await outcome).toBe('unavailable');
    await expect(running.accepted).rejects.toMatchObject({ code: 'unavailable' });
    expect(restarts).toHaveLength(1);
    const again = await tokensOf(client.generate({ model: a, prompt: 'color of the sky', sampling: { maxTokens: 8 } }));
    expect(again).toEqual(await tokensOf(local.generate({ prompt: 'color of the sky', sampling: { maxTokens: 8 } })));
  });

  it('runs below the HTTP thread: the worker thread has the default engine nice value, this thread keeps its own', () => {
    if (process.platform !== 'linux') return;
    /** Field 19 of /proc/<pid>/task/<tid>/stat (after the command name in parentheses, index 16). */
    const nice = (tid: string) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
    const threads = readdirSync('/proc/self/task');
    expect(nice(String(process.pid))).toBe(0);
    expect(threads.filter((tid) => nice(tid) === DEFAULT_ENGINE_NICE).length).toBeGreaterThanOrEqual(1);
  });

  it('keeps the worker young generation small', () => {
    const worker = (client as unknown as { worker: Worker }).worker;
    expect(worker.resourceLimits?.maxYoungGenerationSizeMb).toBe(WORKER_YOUNG_GENERATION_MB);
  });

  it('cancels in the worker when the caller stops reading', async () => {
    const controller = new AbortController();
    const events = client.generate({ model: a, prompt: 'go on', sampling: { maxTokens: 1000, temperature: 1 }, signal: controller.signal });
    let tokens = 0;
    let finish: string | undefined;
    for await (const e of events) {
      if (e.type === 'token' && ++tokens === 3) controller.abort();
      if (e.type === 'sample_done') finish = e.finishReason;
    }
    expect(finish).toBe('cancelled');
    expect(tokens).toBeLessThan(1000);
  });
});
