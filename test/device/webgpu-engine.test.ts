import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAdapterDir } from '../../runtime/checkpoint/lora-adapter.ts';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { randomLoraAdapter } from '../../runtime/checkpoint/random-t5.ts';
import type { GenerationEvent, ModelRef } from '../../runtime/engine/engine-api.ts';
import { createEngine, type EngineCore } from '../../runtime/engine/engine-core.ts';
import { webgpuSkipReason } from '../helpers/device-under-test.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import '../helpers/temp-root.ts';
import { makeTinyModelDir } from '../helpers/tiny-model.ts';

/**
 * The engine as the server runs it, on WebGPU: requests on two LoRA adapters and the base, several
 * samples of one prompt among them, decode together in one continuous batch (its KV cache, cross K/V
 * and the adapters' factors on the device) to the tokens the CPU engine gives each alone. Skipped, with
 * the reason, without Vulkan.
 */
const skip = !hasShared || (await webgpuSkipReason()) !== undefined;
const targets = ['q', 'v'];
const prompts = ['color of the sky', 'translate to German: good morning', 'is water wet? yes or no'];

async function tokensOf(events: AsyncIterable<GenerationEvent>): Promise<number[]> {
  const ids: number[] = [];
  for await (const e of events) if (e.type === 'token') ids.push(e.tokenId);
  return ids;
}

describe.skipIf(skip)('the engine on WebGPU', () => {
  const baseDir = hasShared ? makeTinyModelDir({ seed: 4 }) : '';
  const base: ModelRef = { id: 'base', dir: baseDir };
  const versions: ModelRef[] = [base];
  const engines: Partial<Record<'cpu' | 'webgpu', EngineCore>> = {};

  beforeAll(async () => {
    const { config } = loadModelDir(baseDir);
    const work = mkdtempSync(join(tmpdir(), 'webgpu-adapters-'));
    for (const [i, rank] of [2, 4].entries()) {
      const dir = join(work, `adapter-${i}`);
      writeAdapterDir(dir, randomLoraAdapter(config, { rank, alpha: 2 * rank, targets }, 40 + i, 3), baseDir);
      versions.push({ ...base, adapter: { id: `ft-${i}`, dir } });
    }
    for (const device of ['cpu', 'webgpu'] as const) {
      engines[device] = await createEngine({ modelDir: baseDir, modelId: 'base', session: { device, threads: 1 }, limits: { adapterTargets: targets } });
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(engines).map((e) => e.close()));
  });

  const greedy = (model: ModelRef, prompt: string) => ({ model, prompt, sampling: { maxTokens: 10 } });

  it('decodes adapters and the base in one batch to the tokens the CPU gives each alone', async () => {
    const cpu = engines.cpu!;
    const alone: number[][][] = [];
    for (const model of versions) {
      const rows: number[][] = [];
      for (const prompt of prompts) rows.push(await tokensOf(cpu.generate(greedy(model, prompt))));
      alone.push(rows);
    }
    // Each adapter changes the text, so each row must have run on its own.
    expect(new Set(alone.map((rows) => JSON.stringify(rows))).size).toBe(versions.length);

    const gpu = engines.webgpu!;
    let widest = 0;
    const observe = async (model: ModelRef, prompt: string) => {
      const ids: number[] = [];
      for await (const e of gpu.generate(greedy(model, prompt))) {
        if (e.type !== 'token') continue;
        ids.push(e.tokenId);
        widest = Math.max(widest, gpu.stats().batchSize);
      }
      return ids;
    };
    // The first prompt twice per version: two rows from one encoder pass's row.
    const together = await Promise.all(versions.map((model) => Promise.all([...prompts, prompts[0]].map((p) => observe(model, p)))));
    expect(together).toEqual(alone.map((rows) => [...rows, rows[0]]));
    expect(widest).toBeGreaterThan(prompts.length + 1);
  });

  it('samples a seeded request among greedy ones as the CPU does (its logits read back, theirs not)', async () => {
    const sampled = (model: ModelRef) => ({ model, prompt: prompts[1], sampling: { maxTokens: 10, temperature: 0.9, seed: 7, n: 2, logprobs: 2 } });
    const texts = async (engine: EngineCore, model: ModelRef) => {
      const rows = new Map<number, number[]>();
      const logprobs: number[] = [];
      for await (const e of engine.generate(sampled(model))) {
        if (e.type !== 'token') continue;
        rows.set(e.sample, [...(rows.get(e.sample) ?? []), e.tokenId]);
        if (e.logprob !== undefined) logprobs.push(e.logprob);
      }
      return { rows: [...rows.entries()].sort(([a], [b]) => a - b), logprobs };
    };
    const gpu = engines.webgpu!;
    for (const model of versions.slice(0, 2)) {
      const onCpu = await texts(engines.cpu!, model);
      // Beside greedy rows of every version, so the batch holds rows that need no logits.
      const [onGpu] = await Promise.all([texts(gpu, model), ...versions.flatMap((v) => prompts.map((p) => tokensOf(gpu.generate(greedy(v, p)))))]);
      expect(onGpu.rows).toEqual(onCpu.rows);
      expect(onGpu.logprobs.length).toBe(onCpu.logprobs.length);
      onGpu.logprobs.forEach((lp, i) => expect(lp).toBeCloseTo(onCpu.logprobs[i], 3));
    }
  });
});
