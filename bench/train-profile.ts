/**
 * Where a full-finetuning train step's time goes, from onnxruntime's profiler: the flan-t5-small shape,
 * batch 8 x (128 + 32) tokens, Adafactor, as `bench -- train` runs it. onnxruntime-node has no process-wide
 * profiling switch and the trainer makes its own sessions, so this bench wraps session creation to turn
 * profiling on. Prints one JSON object: wall ms per step, kernel ms per step per graph (train step,
 * optimizer), the op types' shares of kernel time and the costliest nodes.
 *
 *   npm run bench -- train-profile      (BENCH_TRAIN_STEPS=2)
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trainer } from '../finetune/trainer/trainer.ts';
import { randomT5Weights } from '../runtime/checkpoint/random-t5.ts';
import { parseT5Config } from '../runtime/checkpoint/t5-config.ts';
import { ort } from '../runtime/onnx-session.ts';
import { FLAN_T5_SMALL, randomTrainBatch } from './bench-model.ts';

const BATCH = 8;
const SOURCE = 128;
const TARGET = 32;
const steps = Number(process.env.BENCH_TRAIN_STEPS ?? 2);
const dir = mkdtempSync(join(tmpdir(), 'flan-train-profile-'));

type Create = (model: Uint8Array | string, options?: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;
const sessions: ort.InferenceSession[] = [];
const create = ort.InferenceSession.create.bind(ort.InferenceSession) as Create;
(ort.InferenceSession as unknown as { create: Create }).create = async (model, options) => {
  const session = await create(model, { ...options, enableProfiling: true, profileFilePrefix: join(dir, `session${sessions.length}`) });
  sessions.push(session);
  return session;
};

const config = parseT5Config(FLAN_T5_SMALL, 'bench config');
const batch = (seed: number) => randomTrainBatch(config, seed, BATCH, SOURCE, TARGET);

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args: { op_name?: string };
}

const trainer = await Trainer.create(config, randomT5Weights(config, 0), {
  method: { kind: 'full' },
  optimizer: { kind: 'adafactor', lr: 1e-3 },
  maxGradNorm: 1,
  seed: 0,
  threads: cpus().length,
});
await trainer.trainStep([batch(100)]); // warm-up, profiled too: the figures below are per step over all runs
const started = performance.now();
for (let i = 0; i < steps; i++) await trainer.trainStep([batch(i)]);
const stepMs = (performance.now() - started) / steps;
for (const s of sessions) s.endProfiling();
await trainer.release();

const runs = steps + 1;
const byOp = new Map<string, number>();
const byNode = new Map<string, number>();
const graphs: Record<string, number> = {};
for (const file of readdirSync(dir)) {
  const kernels = (JSON.parse(readFileSync(join(dir, file), 'utf8')) as ProfileEvent[]).filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  if (kernels.length === 0) continue;
  const graph = kernels[0].name.split('/')[0];
  graphs[graph] = Math.round(kernels.reduce((s, e) => s + e.dur, 0) / 1000 / runs);
  for (const e of kernels) {
    byOp.set(e.args.op_name!, (byOp.get(e.args.op_name!) ?? 0) + e.dur);
    const node = e.name.replace('_kernel_time', '');
    byNode.set(node, (byNode.get(node) ?? 0) + e.dur);
  }
}
const total = [...byOp.values()].reduce((a, b) => a + b, 0);
const top = (m: Map<string, number>, n: number) =>
  Object.fromEntries([...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => [k, Math.round((1000 * v) / total) / 10]));
console.log(
  JSON.stringify({
    shape: 'flan-t5-small (random weights)',
    batch: `${BATCH} x (${SOURCE} + ${TARGET})`,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    stepMs: Math.round(stepMs),
    kernelMsPerStep: graphs,
    opShareOfKernelPercent: top(byOp, 12),
    costliestNodesPercent: top(byNode, 10),
  }),
);
