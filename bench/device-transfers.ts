/**
 * Bytes copied host<->device per decode step, counted by the decode runner, with the KV cache and
 * cross K/V kept on the device (after) against the host-side cache copied over every step (before):
 * flan-t5-small shape, seeded random weights, a batch of 32 greedy rows with 64-token prompts, on
 * FLAN_DEVICE (webgpu by default; Mesa's llvmpipe where there is no GPU). Prints one JSON object;
 * `baselineRatio` is before/after of the bytes of the last step. With BENCH_ADAPTERS=N the graphs take
 * LoRA adapters on q and v (the server's default) and N random ones of rank BENCH_ADAPTER_RANK are
 * loaded, row b on adapter b % N: before, their factor stacks went over with every step too.
 * Env: BENCH_BATCH (32), BENCH_NEW_TOKENS (16), BENCH_PROMPT_TOKENS (64), BENCH_ADAPTERS (0),
 * BENCH_ADAPTER_RANK (16).
 */
import { randomLoraAdapter, randomT5Weights } from '../runtime/checkpoint/random-t5.ts';
import { parseT5Config } from '../runtime/checkpoint/t5-config.ts';
import { keepsTensorsOnDevice, sessionConfigFromEnv } from '../runtime/device/device-config.ts';
import { DecodeRunner, type TransferStats } from '../runtime/engine/decode-runner.ts';
import { T5Runner } from '../runtime/t5-runner.ts';
import { FLAN_T5_SMALL, seededPrompts } from './bench-model.ts';
import { decodeBatch } from './decode-batch.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const BATCH = env('BENCH_BATCH', 32);
const NEW_TOKENS = env('BENCH_NEW_TOKENS', 16);
const PROMPT_TOKENS = env('BENCH_PROMPT_TOKENS', 64);
const ADAPTERS = env('BENCH_ADAPTERS', 0);
const ADAPTER_RANK = env('BENCH_ADAPTER_RANK', 16);
const ADAPTER_TARGETS = ['q', 'v'];
const session = sessionConfigFromEnv({ FLAN_DEVICE: 'webgpu', ...process.env });
const log = (msg: string) => process.stderr.write(`[bench device-transfers] ${msg}\n`);

if (!keepsTensorsOnDevice(session.device)) {
  console.log(JSON.stringify({ skipped: `FLAN_DEVICE=${session.device} keeps nothing on the device: every byte the runner counts there is zero or every step's` }));
  process.exit(0);
}

const config = parseT5Config(FLAN_T5_SMALL, 'bench config');
const runner = await T5Runner.fromWeights(config, randomT5Weights(config, 0), session, ADAPTERS ? ADAPTER_TARGETS : []);
const adapterIds = Array.from({ length: ADAPTERS }, (_, k) => `lora-${k}`);
const prompts = seededPrompts(BATCH, PROMPT_TOKENS, config.vocabSize, 11);
const MiB = (bytes: number) => Math.round((bytes / 2 ** 20) * 100) / 100;

/** Greedy decoding of the batch; the transfer counts of each step and the wall time. */
async function decode(cacheOnDevice: boolean) {
  // A fresh encoder cache, so both paths pay the same encoder pass.
  const decoder = new DecodeRunner(runner, 256 << 20, { cacheOnDevice });
  const spec = { rank: ADAPTER_RANK, alpha: 2 * ADAPTER_RANK, targets: ADAPTER_TARGETS };
  adapterIds.forEach((id, k) => decoder.adapters!.add(id, randomLoraAdapter(config, spec, 100 + k)));
  const perStep: { toDevice: number; toHost: number }[] = [];
  let kvCacheBytes = 0;
  const afterStep = () => {
    const s = decoder.transferStats();
    perStep.push({ toDevice: s.lastStepToDeviceBytes, toHost: s.lastStepToHostBytes });
    kvCacheBytes = decoder.kvCacheBytes();
  };
  const adapters = ADAPTERS ? adapterIds : undefined;
  const { prefillSeconds, stepSeconds } = await decodeBatch(decoder, prompts, NEW_TOKENS, config.decoderStartTokenId, { afterStep, adapters });
  const seconds = prefillSeconds + stepSeconds;
  const stats: TransferStats = decoder.transferStats();
  log(`${cacheOnDevice ? 'after' : 'before'}: ${seconds.toFixed(1)} s, last step ${MiB(perStep.at(-1)!.toDevice)} MiB over, ${MiB(perStep.at(-1)!.toHost)} MiB back`);
  return {
    cacheOnDevice,
    seconds: Math.round(seconds * 100) / 100,
    tokensPerSecond: Math.round(((BATCH * NEW_TOKENS) / seconds) * 10) / 10,
    kvCacheBytesAtEnd: kvCacheBytes,
    lastStep: perStep.at(-1)!,
    meanStep: { toDevice: Math.round(stats.stepToDeviceBytes / stats.steps), toHost: Math.round(stats.stepToHostBytes / stats.steps) },
    /** The encoder pass and the batch's arrival: prompts over, cross K/V back to the encoder cache (and over again for the host path, each step). */
    repack: { toDevice: stats.repackToDeviceBytes, toHost: stats.repackToHostBytes },
    perStepToDevice: perStep.map((s) => s.toDevice),
  };
}

try {
  const before = await decode(false);
  const after = await decode(true);
  console.log(
    JSON.stringify({
      bench: 'device-transfers',
      device: session.device,
      shape: 'flan-t5-small (random weights)',
      batch: BATCH,
      promptTokens: PROMPT_TOKENS,
      newTokens: NEW_TOKENS,
      adapters: ADAPTERS ? { count: ADAPTERS, rank: ADAPTER_RANK, targets: ADAPTER_TARGETS } : undefined,
      before,
      after,
      baselineRatio: Math.round(((before.lastStep.toDevice + before.lastStep.toHost) / (after.lastStep.toDevice + after.lastStep.toHost)) * 10) / 10,
    }),
  );
} finally {
  await runner.release();
}
