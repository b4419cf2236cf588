/**
 * Reproduces models/flan-mini-base from nothing: vocabulary, data, random init, then T5 span-corruption
 * pretraining on the generator's plain text. Resumes from its checkpoint when re-run.
 *
 *   npx tsx models/build/pretrain-base.ts [--steps N]
 */
import { parseArgs } from 'node:util';
import { BASE_MODEL_DIR, buildPaths } from './build-paths.ts';
import { prepareBuild } from './prepare-data.ts';
import { buildModel, identityTemplates } from './train-model.ts';

const PRETRAIN_STEPS = 500;

const { values } = parseArgs({ options: { steps: { type: 'string', default: String(PRETRAIN_STEPS) } } });
prepareBuild();
await buildModel({
  runDir: buildPaths.pretrainRun,
  outDir: BASE_MODEL_DIR,
  spec: {
    baseModelDir: buildPaths.init,
    trainingFile: buildPaths.pretrainData,
    method: { kind: 'full' },
    // From scratch a moment estimate helps more than Adafactor's memory saving matters at 3.5M parameters.
    optimizer: { kind: 'adamw', lr: 1e-3, weightDecay: 0, schedule: { warmupSteps: 50, decaySteps: PRETRAIN_STEPS } },
    maxGradNorm: 1,
    steps: Number(values.steps),
    batch: {
      batchSize: 16,
      microBatches: 1,
      maxSourceLength: 256,
      maxTargetLength: 96,
      packed: true,
      templates: { templates: identityTemplates(['span_corruption']), fewShotRate: 0 },
    },
    seed: 7,
    heldOutFraction: 0.002,
    checkpointEvery: 50,
    evalEvery: 250,
    threads: 2,
  },
});
