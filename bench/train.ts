import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { Trainer, type MethodConfig } from '../finetune/trainer/trainer.ts';
import { randomT5Weights } from '../runtime/checkpoint/random-t5.ts';
import { parseT5Config, type T5Config } from '../runtime/checkpoint/t5-config.ts';
import { startedWithHugePages, withHugePages } from '../runtime/huge-pages.ts';
import { intraOpThreads, sessionConfigFromEnv } from '../runtime/onnx-session.ts';
import { FLAN_T5_SMALL, randomTrainBatch, writeBenchModel } from './bench-model.ts';
import { hfPython, startHfPeer } from './hf-venv.ts';
import { matmulGflops } from './matmul-baseline.ts';
import { median } from './latency-stats.ts';

/**
 * Finetuning throughput on the flan-t5-small shape with seeded random weights: tokens/s of full and
 * LoRA train steps (graph run + gradient accumulation + clipping + Adafactor), at batch 8 x (128
 * source + 32 target) tokens, and the fraction of a plain MatMul's GFLOP/s that the step reaches.
 * Full finetuning is also timed against Hugging Face transformers (T5ForConditionalGeneration, torch,
 * transformers' Adafactor at the same constant rate, clipping at 1.0; bench/hf_train_peer.py) on the same
 * batches, the two alternating step by step; skipped with a message where the peer's venv cannot be made.
 * Prints one JSON object. BENCH_TRAIN_STEPS sets the timed steps (default 3, after one warm-up).
 */

// The product trains in a child process started with huge pages for glibc's malloc
// (runtime/huge-pages.ts); the bench runs its trainer, and the Hugging Face peer, the same way.
if (!startedWithHugePages()) {
  const again = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { env: withHugePages(process.env), stdio: 'inherit' });
  process.exit(again.status ?? 1);
}

const BATCH = 8;
const SOURCE = 128;
const TARGET = 32;
const steps = Number(process.env.BENCH_TRAIN_STEPS ?? 3);
const threads = intraOpThreads(sessionConfigFromEnv().threads);

const randomBatch = (config: T5Config, seed: number) => randomTrainBatch(config, seed, BATCH, SOURCE, TARGET);

/** Multiply-add FLOPs of the matmuls in one forward pass (projections, attention, lm_head). */
function forwardFlops(c: T5Config): { weights: number; activations: number } {
  const inner = c.numHeads * c.dKv;
  const attn = 4 * c.dModel * inner;
  const ff = (c.isGated ? 3 : 2) * c.dModel * c.dFf;
  const src = BATCH * SOURCE;
  const tgt = BATCH * TARGET;
  // x @ W products: every weight meets every token that passes it.
  const weights =
    2 * (c.numLayers * (attn + ff) * src + c.numDecoderLayers * ((attn + 2 * c.dModel * inner + ff) * tgt + 2 * c.dModel * inner * src) + c.dModel * c.vocabSize * tgt);
  // q k^T and p v products.
  const activations =
    2 * 2 * BATCH * c.numHeads * c.dKv * (c.numLayers * SOURCE * SOURCE + c.numDecoderLayers * (TARGET * TARGET + TARGET * SOURCE));
  return { weights, activations };
}

async function measure(config: T5Config, method: MethodConfig, flopsPerStep: number) {
  const trainer = await Trainer.create(config, randomT5Weights(config, 0), {
    method,
    optimizer: { kind: 'adafactor', lr: LR },
    maxGradNorm: 1,
    seed: 0,
    threads,
  });
  try {
    await trainer.trainStep([randomBatch(config, 100)]);
    const start = performance.now();
    for (let i = 0; i < steps; i++) await trainer.trainStep([randomBatch(config, i)]);
    const seconds = (performance.now() - start) / 1000 / steps;
    return { seconds_per_step: seconds, tokens_per_second: (BATCH * (SOURCE + TARGET)) / seconds, gflops: flopsPerStep / seconds / 1e9 };
  } finally {
    await trainer.release();
  }
}

const LR = 1e-3;

/** Our full-finetuning step against the Hugging Face peer's, alternating (order swapped each step) on the same batches. */
async function againstHf(config: T5Config) {
  const peer = hfPython((msg) => process.stderr.write(`[bench train] ${msg}\n`));
  if ('skipped' in peer) return { skipped: peer.skipped };
  const { dir } = writeBenchModel();
  const hfPeer = await startHfPeer(peer.python, 'hf_train_peer.py', [dir, String(LR)]);
  const trainer = await Trainer.create(config, randomT5Weights(config, 0), { method: { kind: 'full' }, optimizer: { kind: 'adafactor', lr: LR }, maxGradNorm: 1, seed: 0, threads });
  try {
    const hfStep = async (seed: number) => {
      const b = randomBatch(config, seed);
      return (await hfPeer.request<{ seconds: number }>({ cmd: 'step', inputIds: b.inputIds, attentionMask: b.attentionMask, labels: b.labels })).seconds;
    };
    const ourStep = async (seed: number) => {
      const start = performance.now();
      await trainer.trainStep([randomBatch(config, seed)]);
      return (performance.now() - start) / 1000;
    };
    await ourStep(100);
    await hfStep(100);
    const ours: number[] = [];
    const hf: number[] = [];
    const loads = [loadavg()];
    for (let i = 0; i < steps; i++) {
      if (i % 2) hf.push(await hfStep(i));
      ours.push(await ourStep(i));
      if (!(i % 2)) hf.push(await hfStep(i));
      loads.push(loadavg());
    }
    const tokens = BATCH * (SOURCE + TARGET);
    return {
      hf: { ...hfPeer.info, optimizer: 'transformers Adafactor (scale_parameter=False, relative_step=False)', seconds_per_step: hf, tokens_per_second: tokens / median(hf) },
      ours: { seconds_per_step: ours, tokens_per_second: tokens / median(ours) },
      ours_over_hf: median(hf) / median(ours),
      load_average: loads.map((l) => l.map((x) => Math.round(x * 100) / 100)),
    };
  } finally {
    hfPeer.quit();
    await trainer.release();
  }
}

const config = parseT5Config(FLAN_T5_SMALL, 'flan-t5-small');
const { weights, activations } = forwardFlops(config);
// Backward costs two products per forward product (input and weight gradients); LoRA skips the
// frozen weights' gradients, so its step is about forward + input gradients.
const fullFlops = 3 * (weights + activations);
const loraFlops = 2 * weights + 3 * activations;
// The baseline is the best of the step's own large products (feed-forward in and out, lm_head), so
// the fraction is not flattered by one small, overhead-bound shape.
const session = { device: 'cpu' as const, threads };
const shapes: [number, number, number][] = [
  [BATCH * SOURCE, config.dModel, config.dFf],
  [BATCH * SOURCE, config.dFf, config.dModel],
  [BATCH * TARGET, config.dModel, config.vocabSize],
];
let matmul = 0;
for (const [m, k, n] of shapes) matmul = Math.max(matmul, await matmulGflops(m, k, n, session));
const full = await measure(config, { kind: 'full' }, fullFlops);
const vsHf = await againstHf(config);
const lora = await measure(config, { kind: 'lora', lora: { rank: 8, alpha: 16, targets: ['q', 'v'] } }, loraFlops);
console.log(
  JSON.stringify({
    benchmark: 'train',
    model: 'flan-t5-small shape, seeded random weights',
    batch: `${BATCH} x (${SOURCE} + ${TARGET}) tokens`,
    optimizer: 'adafactor',
    threads,
    glibc_tunables: process.env.GLIBC_TUNABLES,
    timed_steps: steps,
    matmul_gflops: matmul,
    full: { ...full, fraction_of_matmul: full.gflops / matmul },
    lora: { ...lora, fraction_of_matmul: lora.gflops / matmul },
    full_vs_hf_adafactor: vsHf,
  }),
);
