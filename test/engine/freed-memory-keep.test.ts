import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../runtime/config-error.ts';
import type { EngineCore } from '../../runtime/engine/engine-core.ts';
import { loadFromDirectory } from '../../runtime/engine/model-router.ts';
import { collectGarbage, freedMemoryKeepMsFromEnv, returnFreedMemory, returnFreedMemoryWhenIdle } from '../../runtime/freed-memory.ts';
import { hasShared } from '../helpers/shared-fixtures.ts';
import { collect, referenceCase, referenceEngine } from './reference-engine.ts';

// The trim is what is watched here, not done: a real one would only make the test slower.
vi.mock('../../runtime/freed-memory.ts', async (original) => ({ ...(await original<object>()), returnFreedMemoryWhenIdle: vi.fn(), returnFreedMemory: vi.fn() }));

// Each checkpoint array a load reads, watched without keeping it alive.
const checkpointArrays = vi.hoisted((): WeakRef<Float32Array>[] => []);
vi.mock('../../runtime/checkpoint/model-dir.ts', async (original) => {
  const actual = await original<typeof import('../../runtime/checkpoint/model-dir.ts')>();
  return {
    ...actual,
    loadModelDir: (...args: Parameters<typeof actual.loadModelDir>) => {
      const dir = actual.loadModelDir(...args);
      for (const t of dir.weights.values()) checkpointArrays.push(new WeakRef(t.data));
      return dir;
    },
  };
});

describe('FLAN_FREED_MEMORY_SECONDS', () => {
  it('is read as whole seconds, 0 meaning the one-second pause, and refuses anything else', () => {
    expect(freedMemoryKeepMsFromEnv({})).toEqual({});
    expect(freedMemoryKeepMsFromEnv({ FLAN_FREED_MEMORY_SECONDS: '45' })).toEqual({ freedMemoryKeepMs: 45_000 });
    expect(freedMemoryKeepMsFromEnv({ FLAN_FREED_MEMORY_SECONDS: '0' })).toEqual({ freedMemoryKeepMs: 1000 });
    expect(() => freedMemoryKeepMsFromEnv({ FLAN_FREED_MEMORY_SECONDS: '1.5' })).toThrow(ConfigError);
    expect(() => freedMemoryKeepMsFromEnv({ FLAN_FREED_MEMORY_SECONDS: '-1' })).toThrow(/FLAN_FREED_MEMORY_SECONDS/);
  });
});

describe('after a model load', () => {
  it('its garbage goes back at once, not behind the first requests\' keep', async () => {
    const trimNow = vi.mocked(returnFreedMemory);
    const trimLater = vi.mocked(returnFreedMemoryWhenIdle);
    trimNow.mockClear();
    trimLater.mockClear();
    // What the load's trim could give back: the checkpoint arrays still reachable when it runs cannot go.
    let reachableAtTrim = -1;
    trimNow.mockImplementation(() => {
      collectGarbage();
      reachableAtTrim = checkpointArrays.filter((ref) => ref.deref() !== undefined).length;
      return true;
    });
    const parts = await loadFromDirectory({ id: 'flan-mini', dir: 'models/flan-mini' }, { device: 'cpu', threads: 1 }, []);
    await parts.runner.release();
    expect(trimNow).toHaveBeenCalledTimes(1);
    expect(trimLater).not.toHaveBeenCalled();
    expect(checkpointArrays.length).toBeGreaterThan(10);
    expect(reachableAtTrim).toBe(0);
  });
});

describe.skipIf(!hasShared)('after a burst of requests', () => {
  const MODEL = 't5-tiny-flan-f32';
  let engine: EngineCore;
  beforeAll(async () => {
    engine = await referenceEngine(MODEL, { freedMemoryKeepMs: 12_345 });
  });
  afterAll(async () => {
    await engine.close();
  });

  it('the engine keeps what the burst freed for the configured time before the trim', async () => {
    const trim = vi.mocked(returnFreedMemoryWhenIdle);
    trim.mockClear();
    const { prompts } = referenceCase(MODEL);
    await Promise.all(prompts.map((prompt) => collect(engine.generate({ prompt, sampling: { maxTokens: 3 } }))));
    await vi.waitFor(() => expect(trim).toHaveBeenCalled());
    expect(trim.mock.calls.at(-1)).toEqual([12_345]);
  });
});
