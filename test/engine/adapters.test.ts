import { mkdtempSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeMergedAdapterDir } from '../../finetune/jobs/model-export.ts';
import { readAdapterDir, writeAdapterDir, type LoraAdapter } from '../../runtime/checkpoint/lora-adapter.ts';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { randomLoraAdapter } from '../../runtime/checkpoint/random-t5.ts';
import type { GenerationEvent, GenerationStream, ModelRef } from '../../runtime/engine/engine-api.ts';
import { createEngine, DEFAULT_LIMITS, EngineCore } from '../../runtime/engine/engine-core.ts';
import { loadFromDirectory, type ModelLoader } from '../../runtime/engine/model-router.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';

const session = { device: 'cpu' as const, threads: 1 };
const prompts = ['color of the sky', 'translate to German: good morning'];

async function tokensOf(events: AsyncIterable<GenerationEvent>): Promise<number[]> {
  const ids: number[] = [];
  for await (const e of events) if (e.type === 'token') ids.push(e.tokenId);
  return ids;
}

describe.skipIf(!hasShared)('LoRA adapters served over a shared base', () => {
  const baseDir = hasShared ? makeTinyModelDir({ seed: 3 }) : '';
  const work = mkdtempSync(join(tmpdir(), 'flan-adapters-'));
  const base: ModelRef = { id: 'base', dir: baseDir };
  // Different ranks, alphas and target modules: the stacks pad ranks and leave untargeted layers at zero.
  const specs = [
    { rank: 2, alpha: 4, targets: ['q', 'v'] },
    { rank: 4, alpha: 8, targets: ['q', 'v'] },
    { rank: 8, alpha: 8, targets: ['k', 'o'] },
    { rank: 4, alpha: 16, targets: ['q', 'k', 'v', 'o'] },
  ];
  const adapters: { ref: ModelRef; merged: ModelRef; adapter: LoraAdapter }[] = [];
  let engine: EngineCore;

  beforeAll(async () => {
    const model = loadModelDir(baseDir);
    specs.forEach((spec, i) => {
      const adapter = randomLoraAdapter(model.config, spec, 100 + i);
      const adapterDir = join(work, `adapter-${i}`);
      writeAdapterDir(adapterDir, adapter, baseDir);
      const mergedDir = join(work, `merged-${i}`);
      writeMergedAdapterDir(mergedDir, baseDir, adapterDir);
      adapters.push({ ref: { ...base, adapter: { id: `ft-${i}`, dir: adapterDir } }, merged: { id: `merged-${i}`, dir: mergedDir }, adapter });
    });
    engine = await createEngine({ modelDir: baseDir, modelId: 'base', session, limits: { adapterTargets: ['q', 'k', 'v', 'o'] } });
  });
  afterAll(() => engine?.close());

  const greedy = (model: ModelRef, prompt: string) => ({ model, prompt, sampling: { maxTokens: 12 } });

  it('round-trips an adapter through PEFT layout files', () => {
    const read = readAdapterDir(adapters[3].ref.adapter!.dir);
    expect(read.spec).toEqual(specs[3]);
    expect([...read.factors.keys()]).toEqual([...adapters[3].adapter.factors.keys()]);
    const [weight, f] = [...read.factors][0];
    expect(f.b.data).toEqual(adapters[3].adapter.factors.get(weight)!.b.data);
  });

  it('decodes 4 adapters and the base in one batch exactly as each alone and as each merged model', async () => {
    const versions = [base, ...adapters.map((a) => a.ref)];
    const alone: number[][][] = [];
    for (const model of versions) alone.push(await Promise.all(prompts.map((p) => tokensOf(engine.generate(greedy(model, p))))));
    // The adapters changed the output: each row really ran with its own adapter.
    expect(new Set(alone.map((rows) => JSON.stringify(rows))).size).toBe(versions.length);

    let widest = 0;
    const observe = async (stream: GenerationStream) => {
      const ids: number[] = [];
      for await (const e of stream) {
        if (e.type !== 'token') continue;
        ids.push(e.tokenId);
        widest = Math.max(widest, engine.stats().batchSize);
      }
      return ids;
    };
    const together = await Promise.all(versions.map((model) => Promise.all(prompts.map((p) => observe(engine.generate(greedy(model, p)))))));
    expect(together).toEqual(alone);
    // One scheduler for the base: the rows of every adapter and the base shared its batch.
    expect(widest).toBeGreaterThan(prompts.length * 2);
    expect(engine.stats().loadedModels).toBe(1 + adapters.length);

    const merged: number[][][] = [];
    for (const { merged: ref } of adapters) merged.push(await Promise.all(prompts.map((p) => tokensOf(engine.generate(greedy(ref, p))))));
    expect(merged).toEqual(alone.slice(1));
  });

  it('unloads an adapter and loads it again on its next request, with the same output', async () => {
    const { ref } = adapters[1];
    const before = await tokensOf(engine.generate(greedy(ref, prompts[0])));
    await engine.unload('ft-1');
    expect(engine.stats().loadedModels).toBe(adapters.length + 4); // the merged copies stayed; ft-1 left
    expect(await tokensOf(engine.generate(greedy(ref, prompts[0])))).toEqual(before);
  });

  it('keeps an adapter loaded while its request runs, unloads it once left idle, and hot-loads it again', async () => {
    const idleMs = 150;
    // Every encoder pass waits three idle times first, so each request outlasts the idle time on any machine.
    const slowEncoder: ModelLoader = async (...args) => {
      const parts = await loadFromDirectory(...args);
      const encode = parts.runner.encode.bind(parts.runner);
      parts.runner.encode = async (...encodeArgs) => {
        await sleep(3 * idleMs);
        return encode(...encodeArgs);
      };
      return parts;
    };
    const idle = new EngineCore({ ...DEFAULT_LIMITS, adapterTargets: ['q', 'k', 'v', 'o'], adapterIdleMs: idleMs }, session, base, slowEncoder);
    try {
      const { ref } = adapters[0];
      const first = await tokensOf(idle.generate(greedy(ref, prompts[1])));
      // Idle time counts from the request's end, not its arrival: it is still here.
      expect(idle.stats().loadedModels).toBe(2);
      await sleep(3 * idleMs);
      expect(idle.stats().loadedModels).toBe(1);
      expect(await tokensOf(idle.generate(greedy(ref, prompts[1])))).toEqual(first);
    } finally {
      await idle.close();
    }
  });

  it('refuses an adapter on a module the graphs take none for', async () => {
    const model = loadModelDir(baseDir);
    const dir = join(work, 'wi-adapter');
    writeAdapterDir(dir, randomLoraAdapter(model.config, { rank: 2, alpha: 2, targets: ['wo'] }, 7), baseDir);
    const stream = engine.generate(greedy({ ...base, adapter: { id: 'ft-wo', dir } }, 'hi'));
    await expect(stream.accepted).rejects.toMatchObject({ code: 'model_load_failed', message: expect.stringContaining('FLAN_ADAPTER_TARGETS') });
  });
});
