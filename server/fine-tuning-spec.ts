import { VERBATIM } from '../finetune/data/templates.ts';
import type { TrainingSpec } from '../finetune/jobs/training-run.ts';
import type { MethodConfig, OptimizerConfig } from '../finetune/trainer/trainer.ts';
import type { components } from '../openapi/types.gen.ts';

type JobRequest = components['schemas']['FineTuningJobRequest'];
type FlanOptions = Partial<components['schemas']['FlanFineTuningOptions']>;

/** OpenAI's hyperparameters as the job resolved them. */
export interface ResolvedHyperparameters {
  n_epochs: number | 'auto';
  batch_size: number;
  learning_rate_multiplier: number;
}

/** The optimizers' constant rates before `learning_rate_multiplier` (the paper's Adafactor rate, AdamW's usual one). */
export const DEFAULT_LEARNING_RATE = { adafactor: 1e-3, adamw: 1e-4 } as const;
const DEFAULT_EPOCHS = 3;
const DEFAULT_BATCH_SIZE = 8;
const DEFAULT_CHECKPOINT_EVERY = 50;
const DEFAULT_HELD_OUT = 0.1;
const DEFAULT_LORA = { rank: 8, alpha: 16, targets: ['q', 'v'] };

export interface JobPlan {
  spec: TrainingSpec;
  hyperparameters: ResolvedHyperparameters;
  publish: boolean;
  suffix?: string;
}

/**
 * A fine-tuning request (OpenAI's fields and the `flan` extension) as the TrainingSpec the job manager
 * runs. Steps come from `flan.steps`, else `n_epochs` passes over the examples that train (those not
 * held out) at `batch_size` rows a step.
 */
export function planJob(body: JobRequest, resolved: { baseModelDir: string; trainingFile: string; examples: number }): JobPlan {
  const flan: FlanOptions = body.flan ?? {};
  const hp = body.hyperparameters ?? {};
  const heldOutFraction = flan.held_out_fraction ?? DEFAULT_HELD_OUT;
  // As finetune/data/held-out.ts splits: at least one held out when asked, at least one left to train.
  const n = resolved.examples;
  const heldOut = n >= 2 ? Math.min(Math.max(Math.round(n * heldOutFraction), heldOutFraction > 0 ? 1 : 0), n - 1) : 0;
  const training = n - heldOut;
  const batchSize = hp.batch_size === undefined || hp.batch_size === 'auto' ? Math.max(1, Math.min(DEFAULT_BATCH_SIZE, training)) : hp.batch_size;
  const epochs = hp.n_epochs === undefined || hp.n_epochs === 'auto' ? DEFAULT_EPOCHS : hp.n_epochs;
  const steps = flan.steps ?? Math.max(1, Math.ceil((epochs * training) / batchSize));
  const optimizerKind = flan.optimizer ?? 'adafactor';
  const multiplier = hp.learning_rate_multiplier === undefined || hp.learning_rate_multiplier === 'auto' ? 1 : hp.learning_rate_multiplier;
  const lr = flan.learning_rate ?? DEFAULT_LEARNING_RATE[optimizerKind] * multiplier;
  const method: MethodConfig = flan.method === 'lora' ? { kind: 'lora', lora: { ...DEFAULT_LORA, ...flan.lora } } : { kind: 'full' };
  const schedule = {
    ...(flan.warmup_steps ? { warmupSteps: flan.warmup_steps } : {}),
    ...(flan.lr_decay === 'cosine' ? { decaySteps: steps, minRatio: 0.1 } : {}),
  };
  const optimizer: OptimizerConfig = { kind: optimizerKind, lr, ...(Object.keys(schedule).length ? { schedule } : {}) };
  const spec: TrainingSpec = {
    baseModelDir: resolved.baseModelDir,
    trainingFile: resolved.trainingFile,
    method,
    optimizer,
    steps,
    batch: {
      batchSize,
      microBatches: 1,
      packed: flan.pack ?? true,
      ...(flan.templates === 'none' ? { templates: { defaultTemplates: [VERBATIM] } } : {}),
      maxSourceLength: flan.max_source_length ?? 512,
      maxTargetLength: flan.max_target_length ?? 128,
    },
    maxGradNorm: 1,
    seed: body.seed ?? Math.floor(Math.random() * 2 ** 31),
    heldOutFraction,
    checkpointEvery: flan.checkpoint_every ?? Math.min(DEFAULT_CHECKPOINT_EVERY, steps),
    ...(flan.continual ? { continual: { publishEvery: flan.continual.publish_every } } : {}),
  };
  return {
    spec,
    hyperparameters: { n_epochs: flan.steps === undefined ? epochs : 'auto', batch_size: batchSize, learning_rate_multiplier: lr / DEFAULT_LEARNING_RATE[optimizerKind] },
    publish: flan.hot_swap ?? false,
    ...(body.suffix ? { suffix: body.suffix } : {}),
  };
}
