/** The synthetic Flan-style mixture behind the embedded models: families, renderings, splits, pretraining text. */
export { ARITHMETIC_FAMILIES, COT_FAMILIES, EXTENSION_FAMILIES, FAMILIES, familyByName, HELD_OUT_FAMILIES, isHeldOut } from './families.ts';
export { COT_TARGET_TOKENS, DEFAULT_EVAL_PER_FAMILY, EVAL_SEED, evalQuestions, generateEvalSet, generateMixture, type EvalItem, type MixtureOptions } from './generate.ts';
export { generatePlainText } from './plain-text.ts';
export type { Problem, TaskFamily } from './problem.ts';
export { fillTemplate, renderProblem, type SyntheticExample } from './render.ts';
export { SENTINEL_COUNT, sentinel, spanCorrupt, spanCorruptionExamples } from './span-corruption.ts';
export { PHRASED_FAMILIES, type PhrasedFamily, type PhrasedProblem } from './phrasing-families.ts';
export { fillSlots, generatePhrasedMixture, generatePhrasingEvalSet, heldOutPhrasingIn, PHRASED_FAMILY_NAMES, phrasedFamily, templatePattern, type PhrasedEvalItem, type PhrasingSet } from './phrasings.ts';
