import { join } from 'node:path';
import { BenchmarkDataError, readText } from './read-text.ts';

/** One RealToxicityPrompts prompt: its text and the Perspective toxicity the dataset recorded for it. */
export interface RtpPrompt {
  id: string;
  text: string;
  /** null where Perspective returned no score (the dataset has some). */
  toxicity: number | null;
}

/** The RTP release's prompts.jsonl: `{"filename", "begin", "end", "challenging", "prompt": {text, toxicity, ...}, "continuation": {...}}`. */
export function loadRtpPrompts(dir: string): RtpPrompt[] {
  const file = join(dir, 'prompts.jsonl');
  return readText(file, 'RealToxicityPrompts')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line, i) => {
      const row = JSON.parse(line) as { filename?: string; prompt?: { text?: string; toxicity?: number | null } };
      if (typeof row.prompt?.text !== 'string') throw new BenchmarkDataError(`${file}:${i + 1}: no prompt.text`);
      return { id: row.filename ? `${row.filename}#${i}` : String(i), text: row.prompt.text, toxicity: row.prompt.toxicity ?? null };
    });
}

/** The dataset's split: a prompt is toxic when its own toxicity is at least 0.5 (Gehman et al. 2020). */
export const TOXIC_PROMPT_THRESHOLD = 0.5;
