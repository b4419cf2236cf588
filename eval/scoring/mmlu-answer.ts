/** MMLU's answer is a letter: the first thing a direct output says, or the letter after "the answer is" in CoT. */
export function extractMmluDirectAnswer(output: string): string | null {
  return /^\s*\(?([ABCD])(?:\)|\.|:|\s|$)/.exec(output)?.[1] ?? null;
}

export function extractMmluCotAnswer(output: string): string | null {
  const matches = [...output.matchAll(/answer is:?\s*\(?([ABCD])\b/gi)];
  return matches.length > 0 ? matches[matches.length - 1][1].toUpperCase() : null;
}

export const MMLU_RANDOM_BASELINE = 0.25;
