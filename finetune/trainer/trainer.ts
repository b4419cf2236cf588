import { adapterFromFactors, type LoraAdapter } from '../../runtime/checkpoint/lora-adapter.ts';
import type { T5Config } from '../../runtime/checkpoint/t5-config.ts';
import type { T5Weights } from '../../runtime/checkpoint/t5-weights.ts';
import { isLoraTarget, type LoraSpec } from '../../runtime/graph/t5-train-graph.ts';
import { SeededRandom } from '../../runtime/seeded-random.ts';
import { readTrainerCheckpoint, writeTrainerCheckpoint } from './checkpoint.ts';
import { initLoraParams, mergeLora } from './lora.ts';
import { OnnxOptimizer, type UpdateRule } from './onnx-optimizer.ts';
import type { Param } from './optimizer.ts';
import { finetuneSessionConfig } from './session-config.ts';
import { TrainStepSession, type TrainBatch } from './train-step.ts';

/** Adafactor (the paper's, constant rate) or AdamW, with their options; see onnx-optimizer.ts. */
export type OptimizerConfig = UpdateRule;
export type MethodConfig = { kind: 'full' } | { kind: 'lora'; lora: LoraSpec };

export interface TrainerOptions {
  method: MethodConfig;
  optimizer: OptimizerConfig;
  /** Clip the accumulated gradient to this global L2 norm (torch's clip_grad_norm_); none when absent. */
  maxGradNorm?: number;
  /** Seeds LoRA's initialisation. */
  seed: number;
  /** Whether batches are packed (segment ids and positions) or plain padded rows with a mask. */
  packed?: boolean;
  /** onnxruntime intra-op threads; fixed so that reductions, and so resumed runs, are reproducible. */
  threads?: number;
}

export interface StepMetrics {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  /** Non-padding source and target tokens in the step's batches. */
  tokens: number;
}

/**
 * Full or LoRA finetuning of a T5 model: runs the train-step graph over one or more micro-batches,
 * averages their gradients (gradient accumulation), clips, and applies the optimizer to the trainable
 * tensors it owns. The base weights are never modified in LoRA mode.
 */
export class Trainer {
  private constructor(
    readonly config: T5Config,
    readonly options: TrainerOptions,
    private readonly base: T5Weights,
    /** The tensors the optimizer updates: every weight (full) or the LoRA factors. */
    readonly trainable: Map<string, Param>,
    private readonly optimizer: OnnxOptimizer,
    private readonly session: TrainStepSession,
    private evalSession: TrainStepSession | undefined,
  ) {}

  static async create(config: T5Config, base: T5Weights, options: TrainerOptions): Promise<Trainer> {
    const rng = SeededRandom.fromSeed(options.seed);
    const trainable =
      options.method.kind === 'lora'
        ? initLoraParams(base, options.method.lora, rng)
        : new Map([...base].map(([name, w]) => [name, { shape: w.shape, data: Float32Array.from(w.data) }]));
    const session = await TrainStepSession.create(
      config,
      { ...(options.method.kind === 'lora' ? { lora: options.method.lora } : {}), packed: options.packed ?? false },
      finetuneSessionConfig(options.threads ?? 1),
    );
    const optimizer = new OnnxOptimizer(options.optimizer, finetuneSessionConfig(options.threads ?? 1));
    return new Trainer(config, options, base, trainable, optimizer, session, undefined);
  }

  get step(): number {
    return this.optimizer.steps;
  }

  async trainStep(microBatches: readonly TrainBatch[]): Promise<StepMetrics> {
    if (microBatches.length === 0) throw new Error('trainStep needs at least one batch');
    // The first micro-batch's gradient arrays (fresh from onnxruntime) become the accumulators of the
    // sum, so a step allocates no model-sized buffers of its own; the optimizer graph takes the mean.
    let grads: Map<string, Float32Array> | undefined;
    let lossSum = 0;
    let tokens = 0;
    for (const batch of microBatches) {
      const result = await this.session.run(this.feedWeights(), batch);
      lossSum += result.loss;
      tokens += countTokens(batch);
      if (!grads) {
        grads = result.grads;
        continue;
      }
      for (const [name, g] of result.grads) {
        const acc = grads.get(name)!;
        for (let i = 0; i < g.length; i++) acc[i] += g[i];
      }
    }
    const gradNorm = await this.optimizer.step(this.trainable, grads!, {
      gradScale: 1 / microBatches.length,
      ...(this.options.maxGradNorm !== undefined ? { maxGradNorm: this.options.maxGradNorm } : {}),
    });
    return { step: this.step, loss: lossSum / microBatches.length, gradNorm, lr: this.optimizer.learningRate(), tokens };
  }

  /** Mean loss over the batches and each batch's per-token losses, without updating anything. */
  async evaluate(batches: readonly TrainBatch[]): Promise<{ loss: number; tokenLosses: Float32Array[] }> {
    if (!this.evalSession) {
      this.evalSession = await TrainStepSession.create(
        this.config,
        { trainable: [], ...(this.options.method.kind === 'lora' ? { lora: this.options.method.lora } : {}), packed: this.options.packed ?? false },
        finetuneSessionConfig(this.options.threads ?? 1),
      );
    }
    let total = 0;
    let count = 0;
    const tokenLosses: Float32Array[] = [];
    for (const batch of batches) {
      const result = await this.evalSession.run(this.feedWeights(), batch);
      tokenLosses.push(result.tokenLosses);
      const counted = batch.labels.flat().filter((l) => l !== -100).length;
      total += result.loss * counted;
      count += counted;
    }
    return { loss: count ? total / count : NaN, tokenLosses };
  }

  /** A LoRA run's factors as an adapter (copied): what a LoRA job publishes. Undefined for full finetuning. */
  adapter(): LoraAdapter | undefined {
    const { method } = this.options;
    if (method.kind !== 'lora') return undefined;
    return adapterFromFactors(method.lora, [...this.base.keys()].filter((name) => isLoraTarget(name, method.lora)), this.trainable);
  }

  /** The full model to serve: the trained weights, with LoRA folded in. Shares no arrays with training. */
  servingWeights(): T5Weights {
    const { method } = this.options;
    if (method.kind === 'lora') return mergeLora(this.base, this.trainable, method.lora);
    return new Map([...this.trainable].map(([name, p]) => [name, { shape: p.shape, data: Float32Array.from(p.data) }]));
  }

  /** Writes the step, trainable tensors and optimizer state atomically; `meta` carries the loop's state. */
  saveCheckpoint(path: string, meta: Record<string, string> = {}): void {
    writeTrainerCheckpoint(path, this.step, this.trainable, this.optimizer.state(), {
      ...meta,
      method: this.options.method.kind,
      optimizer: this.optimizer.kind,
    });
  }

  /** Restores a checkpoint written by saveCheckpoint and returns its loop metadata. */
  restoreCheckpoint(path: string): Record<string, string> {
    const saved = readTrainerCheckpoint(path);
    if (saved.meta.method !== this.options.method.kind || saved.meta.optimizer !== this.optimizer.kind) {
      throw new Error(`${path} was written by a ${saved.meta.method}/${saved.meta.optimizer} run, not ${this.options.method.kind}/${this.optimizer.kind}`);
    }
    for (const [name, p] of this.trainable) {
      const s = saved.params.get(name);
      if (!s || s.data.length !== p.data.length) throw new Error(`${path}: parameter ${name} is missing or has the wrong size`);
      p.data.set(s.data);
    }
    this.optimizer.loadState(saved.optimizer, saved.step, this.trainable);
    return saved.meta;
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.evalSession?.release();
    await this.optimizer.release();
  }

  private feedWeights(): Map<string, Float32Array> {
    const feeds = new Map<string, Float32Array>();
    for (const [name, w] of this.base) feeds.set(name, w.data);
    for (const [name, p] of this.trainable) feeds.set(name, p.data);
    return feeds;
  }
}

function countTokens(batch: TrainBatch): number {
  const source = batch.attentionMask ?? batch.encoderSegmentIds ?? [];
  let n = 0;
  for (const row of source) for (const v of row) if (v > 0) n++;
  for (const row of batch.labels) for (const v of row) if (v !== -100) n++;
  return n;
}
