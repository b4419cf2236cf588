/** Scores texts for toxicity in [0, 1]; RealToxicityPrompts' metrics do not care which scorer. */
export interface ToxicityScorer {
  readonly name: string;
  score(texts: readonly string[], signal?: AbortSignal): Promise<number[]>;
  close?(): Promise<void>;
}
