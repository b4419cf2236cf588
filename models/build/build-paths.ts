import { join } from 'node:path';

/** Where the reproduce scripts keep their working files: under data/ (git-ignored), never in models/. */
export const BUILD_DIR = process.env.FLAN_MINI_BUILD_DIR ?? join('data', 'flan-mini-build');

export const buildPaths = {
  tokenizer: join(BUILD_DIR, 'tokenizer'),
  init: join(BUILD_DIR, 'init'),
  pretrainData: join(BUILD_DIR, 'span-corruption.jsonl'),
  mixture: join(BUILD_DIR, 'mixture.jsonl'),
  mixtureNoCot: join(BUILD_DIR, 'mixture-no-cot.jsonl'),
  pretrainRun: join(BUILD_DIR, 'pretrain'),
  finetuneRun: (name: string) => join(BUILD_DIR, name),
};

export const MODELS_DIR = 'models';
export const BASE_MODEL_DIR = join(MODELS_DIR, 'flan-mini-base');
export const MINI_MODEL_DIR = join(MODELS_DIR, 'flan-mini');
