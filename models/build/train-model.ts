import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { writeT5ModelDir } from '../../runtime/checkpoint/random-t5.ts';
import { readTrainerCheckpoint } from '../../finetune/trainer/checkpoint.ts';
import type { BatchPlan } from '../../finetune/data/step-batches.ts';
import { jobPaths, runTraining, type TrainingSpec } from '../../finetune/jobs/training-run.ts';
import { COT_TARGET_TOKENS, FAMILIES } from '../../finetune/data/synthetic/index.ts';

export interface ModelBuild {
  /** Run directory under the build dir: checkpoint, log. Re-running resumes from its checkpoint. */
  runDir: string;
  /** The served model directory this run (re)writes, in BF16, after every checkpoint. */
  outDir: string;
  spec: TrainingSpec;
  /** Steps whose model is also kept as `<runDir>/step-<N>`: ablations compare at equal steps. */
  snapshotSteps?: readonly number[];
}

/**
 * The generator already renders every template, few-shot prompt and (for pretraining) sentinel
 * layout, so the trainer must pass inputs through untouched: every task gets the identity template.
 */
export function identityTemplates(extraTasks: readonly string[] = []): NonNullable<BatchPlan['templates']>['templates'] {
  return Object.fromEntries([...FAMILIES.map((f) => f.name), ...extraTasks].map((t) => [t, ['{inputs}']]));
}

/**
 * The instruction-finetuning batch of flan-mini's builds: 16 packed rows of up to 256 source and 160
 * target tokens (a CoT target), inputs as generated, half of the rationale examples rendered as CoT.
 */
export function instructionBatch(): BatchPlan {
  return {
    batchSize: 16,
    microBatches: 1,
    maxSourceLength: 256,
    maxTargetLength: COT_TARGET_TOKENS,
    packed: true,
    templates: { templates: identityTemplates(), fewShotRate: 0, cotRate: 0.5 },
  };
}

/**
 * Runs one training through the project's own runTraining (checkpointed, resumable, deterministic in
 * (seed, step)) and keeps `outDir` a loadable BF16 model of the latest checkpoint, so stopping the
 * run at any time leaves the best model so far in place. Progress goes to stdout and run.log.
 */
export async function buildModel(build: ModelBuild): Promise<void> {
  mkdirSync(build.runDir, { recursive: true });
  const logFile = join(build.runDir, 'run.log');
  const log = (line: string) => {
    const stamped = `${new Date().toISOString()} ${line}`;
    console.log(stamped);
    appendFileSync(logFile, `${stamped}\n`);
  };
  const base = loadModelDir(build.spec.baseModelDir, { requireTokenizer: true });
  const tokenizerFiles = ['tokenizer.tiktoken', 'tokenizer_config.json'].map((f) => join(build.spec.baseModelDir, f));
  const started = Date.now();
  const exportCheckpoint = () => {
    const saved = readTrainerCheckpoint(jobPaths(build.runDir).checkpoint);
    const contents = {
      config: base.config,
      weights: new Map([...saved.params].map(([name, p]) => [name, { shape: p.shape, data: p.data }])),
      tokenizerFiles,
      dtype: 'BF16' as const,
      generation: { max_new_tokens: COT_TARGET_TOKENS },
    };
    writeT5ModelDir(build.outDir, contents);
    if (build.snapshotSteps?.includes(saved.step)) writeT5ModelDir(join(build.runDir, `step-${saved.step}`), contents);
    return saved.step;
  };
  let lossWindow: number[] = [];
  await runTraining(build.spec, build.runDir, (event) => {
    if (event.type === 'step') {
      lossWindow.push(event.loss);
      if (event.step % 10 === 0) {
        const mean = lossWindow.reduce((a, b) => a + b, 0) / lossWindow.length;
        log(`step ${event.step} loss ${mean.toFixed(4)} tok/s ${event.tokensPerSecond.toFixed(0)} eta ${Math.round(event.etaSeconds)}s`);
        lossWindow = [];
      }
    } else if (event.type === 'checkpoint') {
      log(`checkpoint ${exportCheckpoint()} -> ${build.outDir} (${Math.round((Date.now() - started) / 1000)}s this session)`);
    } else {
      log(JSON.stringify(event));
    }
  });
  log(`done in ${Math.round((Date.now() - started) / 1000)}s this session`);
}
