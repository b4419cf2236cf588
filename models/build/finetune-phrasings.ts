/**
 * Teaches flan-mini plainly asked questions: continues finetuning the committed flan-mini (copied
 * once into the run, so replacing models/flan-mini later does not move the starting point) on a
 * mixture of the plain phrasings (finetune/data/synthetic/phrasing-families.ts, trained set only) and
 * a replay of the original mixture's families and templates, so what it knew is not forgotten.
 * Resumes from its checkpoint when re-run; the model goes to `<build>/phrasings/model` and is copied
 * to models/flan-mini only after evaluation (see models/flan-mini/README.md).
 *
 *   npx tsx models/build/finetune-phrasings.ts [--steps N] [--decay-steps N]
 */
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateMixture, generatePhrasedMixture, type SyntheticExample } from '../../finetune/data/synthetic/index.ts';
import { buildPaths, MINI_MODEL_DIR } from './build-paths.ts';
import { buildModel, instructionBatch } from './train-model.ts';

/** Planned steps: the cosine decay ends here whatever --steps stops at, so a stopped run resumes on the same schedule. */
const PHRASING_STEPS = 1000;
const SEEDS = { replay: 204, phrased: 205, training: 21 } as const;
/** Replay of every held-in family under its original templates (few-shot and rationales as before). */
const REPLAY_PER_FAMILY = 4000;
/**
 * Phrased examples per family, about as many in all as the replay (1:1). The families plain
 * questions fail on most (reversal 52%, sorting 62% on the old phrasings) get the most.
 */
const PHRASED_COUNTS: Record<string, number> = {
  addition: 10_000, subtraction: 6000, multiplication: 6000, sort_numbers: 16_000, count_words: 10_000, reverse_words: 16_000,
  sentiment_movie: 10_000, even_odd: 4000, min_of_list: 4000, last_word: 4000, sort_words: 4000,
};

const { values } = parseArgs({
  options: { steps: { type: 'string', default: String(PHRASING_STEPS) }, 'decay-steps': { type: 'string', default: String(PHRASING_STEPS) } },
});
const dir = buildPaths.finetuneRun('phrasings');
const startDir = join(dir, 'start');
const mixtureFile = join(dir, 'mixture.jsonl');
mkdirSync(dir, { recursive: true });
if (!existsSync(join(startDir, 'model.safetensors'))) cpSync(MINI_MODEL_DIR, startDir, { recursive: true });
if (!existsSync(mixtureFile)) {
  const examples: SyntheticExample[] = [
    ...generateMixture({ seed: SEEDS.replay, perFamily: REPLAY_PER_FAMILY }),
    ...generatePhrasedMixture(SEEDS.phrased, PHRASED_COUNTS),
  ];
  writeFileSync(mixtureFile, `${examples.map((e) => JSON.stringify(e)).join('\n')}\n`);
  console.log(`mixture: ${examples.length} examples`);
}
const decaySteps = Number(values['decay-steps']);
await buildModel({
  runDir: join(dir, 'run'),
  outDir: join(dir, 'model'),
  spec: {
    baseModelDir: startDir,
    trainingFile: mixtureFile,
    method: { kind: 'full' },
    // flan-mini ended its schedule at 1e-4; half the original peak, warmed up again (Adafactor's
    // statistics start afresh), moves it onto the new phrasings without shaking the old skills loose.
    optimizer: { kind: 'adafactor', lr: 5e-4, schedule: { warmupSteps: 30, decaySteps, minRatio: 0.1 } },
    maxGradNorm: 1,
    steps: Number(values.steps),
    batch: instructionBatch(),
    seed: SEEDS.training,
    heldOutFraction: 0.005,
    checkpointEvery: 50,
    evalEvery: 250,
    threads: 2,
  },
});
