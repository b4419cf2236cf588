import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsv } from './csv.ts';
import { BenchmarkDataError, readText } from './read-text.ts';
import type { Exemplar, QaExample, QaTask } from './types.ts';

/**
 * The public MMLU release (Hendrycks et al.): dev/<subject>_dev.csv (the 5 few-shot exemplars) and
 * test/<subject>_test.csv, rows `question,A,B,C,D,answer` without a header.
 */
export interface MmluTask extends QaTask {
  /** Chain-of-thought exemplars for the subject, when the data directory has them (see mmlu-cot.json). */
  cotPrompt?: string;
}

/**
 * The Flan paper's MMLU CoT exemplars are not part of the MMLU release; the same 5-shot CoT prompts
 * are published as `lib_prompt/mmlu-cot.json` in github.com/FranxYao/chain-of-thought-hub, a JSON
 * object from subject to prompt text. Put it in the MMLU directory to run `--mode cot`.
 */
export const MMLU_COT_FILE = 'mmlu-cot.json';

export function mmluSubjects(dir: string): string[] {
  const testDir = join(dir, 'test');
  if (!existsSync(testDir)) throw new BenchmarkDataError(`MMLU: ${testDir} does not exist (expected dev/ and test/ CSV folders)`);
  return readdirSync(testDir).flatMap((f) => /^(\w+)_test\.csv$/.exec(f)?.[1] ?? []).sort();
}

export function loadMmluTask(dir: string, subject: string): MmluTask {
  const examples = readRows(join(dir, 'test', `${subject}_test.csv`)).map((r, i): QaExample => ({
    id: `${subject}/${i}`,
    input: r.question,
    choices: r.choices,
    targets: [r.answer],
  }));
  const exemplars = readRows(join(dir, 'dev', `${subject}_dev.csv`)).map(
    (r): Exemplar => ({ input: r.question, choices: r.choices, target: r.answer }),
  );
  const cotFile = join(dir, MMLU_COT_FILE);
  const cotPrompt = existsSync(cotFile)
    ? (JSON.parse(readText(cotFile, 'MMLU CoT prompts')) as Record<string, string>)[subject]
    : undefined;
  return { suite: 'mmlu', name: subject, examples, exemplars, ...(cotPrompt ? { cotPrompt } : {}) };
}

function readRows(file: string): { question: string; choices: string[]; answer: string }[] {
  return parseCsv(readText(file, 'MMLU')).map((row, i) => {
    const answer = row[5]?.trim();
    if (row.length !== 6 || !/^[ABCD]$/.test(answer)) {
      throw new BenchmarkDataError(`${file}: row ${i + 1} is not question,A,B,C,D,answer with answer A-D`);
    }
    return { question: row[0], choices: row.slice(1, 5), answer };
  });
}
