/**
 * Reproduces models/flan-mini: instruction finetuning of models/flan-mini-base on the synthetic
 * mixture (held-in families, zero- and few-shot, half of the rationale examples as CoT), with
 * Adafactor at the paper's 1e-3, warmed up and decayed (cosine) over 4,000 steps. Resumes from its checkpoint when re-run.
 *
 *   npx tsx models/build/finetune-mini.ts [--steps N]
 *   npx tsx models/build/finetune-mini.ts --no-cot [--steps 600]   (the ablation: no rationales; its
 *                                      model goes to data/flan-mini-build/no-cot-model; compared at 600 and 4,000)
 */
import { parseArgs } from 'node:util';
import { BASE_MODEL_DIR, buildPaths, MINI_MODEL_DIR } from './build-paths.ts';
import { prepareBuild } from './prepare-data.ts';
import { buildModel, instructionBatch } from './train-model.ts';

const FINETUNE_STEPS = 4000;
/** The CoT run keeps its models at these steps, so the no-CoT ablation can be compared at equal steps. */
const ABLATION_STEPS = [300, 600, 1000];

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: String(FINETUNE_STEPS) },
    'no-cot': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const noCot = values['no-cot'];
prepareBuild();
await buildModel({
  runDir: buildPaths.finetuneRun(noCot ? 'finetune-no-cot' : 'finetune'),
  outDir: values.out ?? (noCot ? buildPaths.finetuneRun('no-cot-model') : MINI_MODEL_DIR),
  snapshotSteps: ABLATION_STEPS,
  spec: {
    baseModelDir: BASE_MODEL_DIR,
    trainingFile: noCot ? buildPaths.mixtureNoCot : buildPaths.mixture,
    method: { kind: 'full' },
    // The paper's Adafactor at 1e-3, with a short warm-up and a cosine decay over the planned steps
    // (absolute, so a shorter run, such as the ablation, follows the same rate step for step).
    optimizer: { kind: 'adafactor', lr: 1e-3, schedule: { warmupSteps: 50, decaySteps: FINETUNE_STEPS, minRatio: 0.1 } },
    maxGradNorm: 1,
    steps: Number(values.steps),
    batch: instructionBatch(),
    seed: 11,
    heldOutFraction: 0.002,
    checkpointEvery: 50,
    evalEvery: 250,
    threads: 2,
  },
});
