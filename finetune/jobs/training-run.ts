import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { cpuKernelFingerprint } from '../../runtime/device/kernel-fingerprint.ts';
import { heldOutBatches, StepBatches, type BatchPlan } from '../data/step-batches.ts';
import { splitHeldOut } from '../data/held-out.ts';
import { parseInstructionJsonl } from '../data/instruction-example.ts';
import { Trainer, type MethodConfig, type OptimizerConfig } from '../trainer/trainer.ts';
import { writeAdapterDir } from '../../runtime/checkpoint/lora-adapter.ts';
import { writeModelDir } from './model-export.ts';

/** Everything a finetuning job needs; plain JSON so it can cross into the worker and the registry. */
export interface TrainingSpec {
  baseModelDir: string;
  /** JSONL instruction data (see finetune/data/instruction-example.ts). */
  trainingFile: string;
  method: MethodConfig;
  optimizer: OptimizerConfig;
  steps: number;
  batch: BatchPlan;
  maxGradNorm?: number;
  seed: number;
  /** Fraction of the examples kept out of training to measure held-out loss (default 0.1). */
  heldOutFraction?: number;
  /** Write a resumable checkpoint every this many steps (and after the last). */
  checkpointEvery: number;
  /** Measure held-out loss every this many steps (default: only at the end). */
  evalEvery?: number;
  threads?: number;
  /**
   * Continual mode: more examples may be appended while the job runs (JobManager.addExamples), and
   * every `publishEvery` steps the model is measured on the held-out split and offered as a new
   * version if that loss did not get worse than the best version so far.
   */
  continual?: { publishEvery: number };
}

export type TrainingEvent =
  | {
      type: 'started';
      step: number;
      totalSteps: number;
      trainExamples: number;
      heldOutExamples: number;
      resumed: boolean;
      /** Resumed on CPU kernels that round differently from the checkpoint's (cpuKernelFingerprint): not bit for bit. */
      kernelsChanged: boolean;
    }
  | { type: 'step'; step: number; loss: number; lr: number; gradNorm: number; tokens: number; tokensPerSecond: number; etaSeconds: number }
  | { type: 'eval'; step: number; heldOutLoss: number }
  | { type: 'checkpoint'; step: number }
  | { type: 'examples'; step: number; added: number; trainExamples: number }
  | { type: 'version'; step: number; modelDir: string; heldOutLoss: number | null }
  | { type: 'version_rejected'; step: number; heldOutLoss: number; bestHeldOutLoss: number }
  | { type: 'completed'; step: number; modelDir: string; heldOutLoss: number | null };

export interface TrainingResult {
  modelDir: string;
  heldOutLoss: number | null;
  steps: number;
}

/** Paths inside a job's working directory. */
export const jobPaths = (workDir: string) => ({
  checkpoint: join(workDir, 'trainer-state.safetensors'),
  model: join(workDir, 'model'),
  /** Examples appended to a continual job while it runs, JSONL. */
  addedExamples: join(workDir, 'added.jsonl'),
  /** Versions a continual job offers while it runs. */
  version: (step: number) => join(workDir, 'versions', `step-${step}`),
});

export class TrainingCancelled extends Error {
  constructor() {
    super('training was cancelled');
    this.name = 'TrainingCancelled';
  }
}

/**
 * Runs (or resumes) a finetuning job in `workDir`: checks the data before anything trains, trains
 * with checkpoints, evaluates on the held-out split and writes the finetuned model directory. A run
 * killed at any point resumes from its last checkpoint to the same final weights, because batches
 * are a function of (seed, step) and the trainer's arithmetic is deterministic at a fixed thread count.
 */
export async function runTraining(
  spec: TrainingSpec,
  workDir: string,
  onEvent: (e: TrainingEvent) => void,
  shouldStop: () => boolean = () => false,
): Promise<TrainingResult> {
  mkdirSync(workDir, { recursive: true });
  const examples = parseInstructionJsonl(readFileSync(spec.trainingFile, 'utf8'), spec.trainingFile);
  const base = loadModelDir(spec.baseModelDir, { requireTokenizer: true });
  const tokenizer = base.tokenizer!;
  const ids = { pad: base.config.padTokenId, eos: base.config.eosTokenId, decoderStart: base.generationConfig.decoderStartTokenId };
  const { train, heldOut } = splitHeldOut(examples, examples.length >= 2 ? (spec.heldOutFraction ?? 0.1) : 0, spec.seed);
  const evalBatches = heldOutBatches(heldOut, tokenizer, spec.batch, ids, spec.batch.batchSize, spec.batch.templates);
  const paths = jobPaths(workDir);
  // Appended examples all train; the held-out split stays fixed so versions compare on one yardstick.
  const withAdded = (lines: number) => new StepBatches([...train, ...readAdded(paths.addedExamples, lines)], tokenizer, spec.batch, ids, spec.seed);

  const trainer = await Trainer.create(base.config, base.weights, {
    method: spec.method,
    optimizer: spec.optimizer,
    seed: spec.seed,
    packed: spec.batch.packed,
    threads: spec.threads ?? 1,
    ...(spec.maxGradNorm !== undefined ? { maxGradNorm: spec.maxGradNorm } : {}),
  });
  try {
    // The kernels this process trains on, kept with each checkpoint: a run resumed on others (another
    // machine class) finishes, but not where an unbroken run would, bit for bit.
    const kernels = await cpuKernelFingerprint(spec.threads ?? 1);
    const resumed = existsSync(paths.checkpoint);
    const meta = resumed ? trainer.restoreCheckpoint(paths.checkpoint) : {};
    const kernelsChanged = meta.kernels !== undefined && meta.kernels !== kernels;
    // The data a step saw is part of the state: a resumed continual job reads exactly the appended
    // lines it had read, so its batches match the run it continues.
    let addedLines = Number(meta.addedLines ?? 0);
    let best = meta.bestHeldOutLoss === undefined ? Number.POSITIVE_INFINITY : Number(meta.bestHeldOutLoss);
    let batches = withAdded(addedLines);
    onEvent({ type: 'started', step: trainer.step, totalSteps: spec.steps, trainExamples: train.length + addedLines, heldOutExamples: heldOut.length, resumed, kernelsChanged });
    const evaluate = async () => (evalBatches.length ? (await trainer.evaluate(evalBatches)).loss : null);
    // A LoRA run publishes its adapter (served over the base without a copy of it); a full run its weights.
    const writeResult = (dir: string) => {
      const adapter = trainer.adapter();
      if (adapter) writeAdapterDir(dir, adapter, spec.baseModelDir);
      else writeModelDir(dir, base.config, trainer.servingWeights(), spec.baseModelDir);
    };

    const started = performance.now();
    const firstStep = trainer.step;
    while (trainer.step < spec.steps) {
      if (shouldStop()) throw new TrainingCancelled();
      const t0 = performance.now();
      const m = await trainer.trainStep(batches.forStep(trainer.step));
      const seconds = (performance.now() - t0) / 1000;
      const perStep = (performance.now() - started) / 1000 / (trainer.step - firstStep);
      onEvent({ type: 'step', step: m.step, loss: m.loss, lr: m.lr, gradNorm: m.gradNorm, tokens: m.tokens, tokensPerSecond: m.tokens / seconds, etaSeconds: perStep * (spec.steps - m.step) });
      const boundary = spec.continual !== undefined && m.step % spec.continual.publishEvery === 0 && m.step < spec.steps;
      if (boundary) {
        const loss = await evaluate();
        if (loss !== null && loss > best) {
          onEvent({ type: 'version_rejected', step: m.step, heldOutLoss: loss, bestHeldOutLoss: best });
        } else {
          if (loss !== null) best = loss;
          writeResult(paths.version(m.step));
          onEvent({ type: 'version', step: m.step, modelDir: paths.version(m.step), heldOutLoss: loss });
        }
        const lines = countLines(paths.addedExamples);
        if (lines > addedLines) {
          batches = withAdded(lines);
          onEvent({ type: 'examples', step: m.step, added: lines - addedLines, trainExamples: train.length + lines });
          addedLines = lines;
        }
      } else if (spec.evalEvery && m.step % spec.evalEvery === 0 && m.step < spec.steps) {
        const loss = await evaluate();
        if (loss !== null) onEvent({ type: 'eval', step: m.step, heldOutLoss: loss });
      }
      if (boundary || m.step % spec.checkpointEvery === 0 || m.step === spec.steps) {
        trainer.saveCheckpoint(paths.checkpoint, { seed: String(spec.seed), addedLines: String(addedLines), bestHeldOutLoss: String(best), kernels });
        onEvent({ type: 'checkpoint', step: m.step });
      }
    }
    const heldOutLoss = await evaluate();
    if (heldOutLoss !== null) onEvent({ type: 'eval', step: trainer.step, heldOutLoss });
    writeResult(paths.model);
    onEvent({ type: 'completed', step: trainer.step, modelDir: paths.model, heldOutLoss });
    return { modelDir: paths.model, heldOutLoss, steps: trainer.step };
  } finally {
    await trainer.release();
  }
}

/** Complete lines of the appended-examples file (a line is only counted once its newline is written). */
function countLines(file: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split('\n').length - 1;
}

function readAdded(file: string, lines: number) {
  if (lines === 0) return [];
  const text = readFileSync(file, 'utf8').split('\n').slice(0, lines).join('\n');
  return parseInstructionJsonl(text, file);
}
