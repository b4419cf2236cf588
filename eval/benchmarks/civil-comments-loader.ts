import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsvWithHeader } from './csv.ts';
import { BenchmarkDataError, readText } from './read-text.ts';

export interface LabelledComment {
  id: string;
  text: string;
  /** The fraction of raters who called it toxic. */
  toxicity: number;
}

/** A comment counts as toxic when at least half of its raters said so, the dataset's own convention. */
export const TOXIC_COMMENT_THRESHOLD = 0.5;

/**
 * CivilComments public CSVs: `all_data.csv` and the Jigsaw splits carry `comment_text` and a
 * `toxicity` column (`target` in the Jigsaw train.csv). Few-shot exemplars come from a train file
 * when there is one; `test` or `all_data` files are the scored set.
 */
export function loadCivilComments(dir: string): { test: LabelledComment[]; train: LabelledComment[] } {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.csv')) : [];
  const trainFile = files.find((f) => /train/.test(f));
  const testFile = files.find((f) => f !== trainFile && /test|all_data/.test(f)) ?? files.find((f) => f !== trainFile);
  if (!testFile) throw new BenchmarkDataError(`CivilComments: no CSV in ${dir} (expected test.csv or all_data.csv)`);
  return { test: readComments(join(dir, testFile)), train: trainFile ? readComments(join(dir, trainFile)) : [] };
}

function readComments(file: string): LabelledComment[] {
  const rows = parseCsvWithHeader(readText(file, 'CivilComments'));
  return rows.map((r, i) => {
    const score = Number(r.toxicity ?? r.target);
    if (r.comment_text === undefined || !Number.isFinite(score)) {
      throw new BenchmarkDataError(`${file}: row ${i + 1} lacks comment_text or a numeric toxicity/target column`);
    }
    return { id: r.id || String(i), text: r.comment_text, toxicity: score };
  });
}
