import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initT5Weights, writeT5ModelDir } from '../../runtime/checkpoint/random-t5.ts';
import { TiktokenTokenizer } from '../../runtime/checkpoint/tiktoken-tokenizer.ts';
import { learnBpe, writeTiktokenVocabulary } from '../../finetune/data/bpe-vocab.ts';
import { generateMixture, generatePlainText, spanCorruptionExamples, type SyntheticExample } from '../../finetune/data/synthetic/index.ts';
import { flanMiniConfig, SENTINELS, TARGET_VOCAB_SIZE } from './architecture.ts';
import { BUILD_DIR, buildPaths } from './build-paths.ts';

/** Seeds of every generated artefact; changing one changes the models. */
export const SEEDS = { vocabulary: 101, pretrainText: 102, spanCorruption: 103, mixture: 104, init: 105 } as const;
export const PRETRAIN_DOCUMENTS = 60_000;
export const MIXTURE_PER_FAMILY = 10_000;

const toJsonl = (examples: readonly SyntheticExample[]) => `${examples.map((e) => JSON.stringify(e)).join('\n')}\n`;

/**
 * Everything both trainings start from, written once under BUILD_DIR: the BPE vocabulary learned
 * from pretraining text and the instruction mixture, span-corruption data, the mixture with and
 * without rationales, and the randomly initialised model. Idempotent: existing files are kept.
 */
export function prepareBuild(log: (line: string) => void = console.log): void {
  mkdirSync(BUILD_DIR, { recursive: true });
  const plainText = generatePlainText(SEEDS.pretrainText, PRETRAIN_DOCUMENTS);
  const mixture = generateMixture({ seed: SEEDS.mixture, perFamily: MIXTURE_PER_FAMILY });

  if (!existsSync(join(buildPaths.tokenizer, 'tokenizer.tiktoken'))) {
    // A sample is enough: the corpus repeats a small lexicon, and learning over all of it only costs time.
    const sample = [...plainText.slice(0, 5_000), ...mixture.slice(0, 20_000).flatMap((e) => [e.inputs, e.targets, e.rationale ?? ''])];
    const vocab = learnBpe(sample, TARGET_VOCAB_SIZE, SENTINELS);
    writeTiktokenVocabulary(buildPaths.tokenizer, vocab);
    log(`vocabulary: ${vocab.vocabSize} ids (${vocab.tokens.length - 259} merges, ${SENTINELS} sentinels)`);
  }
  if (!existsSync(buildPaths.pretrainData)) {
    writeFileSync(buildPaths.pretrainData, toJsonl(spanCorruptionExamples(plainText, SEEDS.spanCorruption)));
    log(`span corruption: ${plainText.length} documents`);
  }
  if (!existsSync(buildPaths.mixture)) {
    writeFileSync(buildPaths.mixture, toJsonl(mixture));
    writeFileSync(buildPaths.mixtureNoCot, toJsonl(mixture.map(({ rationale: _rationale, ...rest }) => rest)));
    log(`mixture: ${mixture.length} examples, ${mixture.filter((e) => e.rationale).length} with rationales`);
  }
  if (!existsSync(join(buildPaths.init, 'model.safetensors'))) {
    const vocabSize = TiktokenTokenizer.load(buildPaths.tokenizer).vocabSize;
    const config = flanMiniConfig(vocabSize);
    writeT5ModelDir(buildPaths.init, {
      config,
      weights: initT5Weights(config, SEEDS.init),
      tokenizerFiles: [join(buildPaths.tokenizer, 'tokenizer.tiktoken'), join(buildPaths.tokenizer, 'tokenizer_config.json')],
    });
    log(`initial model: vocab ${vocabSize}, d_model ${config.dModel}, ${config.numLayers}+${config.numDecoderLayers} layers`);
  }
}
