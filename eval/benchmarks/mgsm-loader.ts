import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lastNumber } from '../scoring/mgsm-answer.ts';
import { readPythonAssignment, type PyValue } from './python-literal.ts';
import { BenchmarkDataError, readText } from './read-text.ts';
import type { Exemplar, QaTask } from './types.ts';

/**
 * The MGSM release's exemplars file. The paper's 8-shot CoT exemplars (Shi et al. 2022, the
 * chain-of-thought exemplars of Wei et al. translated by the same annotators) are published only as
 * `mgsm/exemplars.py` in github.com/google-research/url-nlp, beside the TSVs; copies of the TSVs
 * without it (such as ../shared/benchmarks/mgsm) load, but can only be prompted zero-shot.
 */
export const MGSM_EXEMPLARS_FILE = 'exemplars.py';

export interface MgsmTask extends QaTask {
  /** The exemplars' own "Question: " / "Step-by-Step Answer: " headers in this language, spacing included. */
  questionPrefix: string;
  answerPrefix: string;
}

export function mgsmLanguages(dir: string): string[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    throw new BenchmarkDataError(`MGSM: ${dir} is not a directory (expected mgsm_XX.tsv files)`);
  }
  return files.flatMap((f) => /^mgsm_(\w+)\.tsv$/.exec(f)?.[1] ?? []).sort();
}

/** mgsm_XX.tsv: "question<TAB>answer" per line, no header; answers are integers. */
export function loadMgsmTask(dir: string, lang: string): MgsmTask {
  const file = join(dir, `mgsm_${lang}.tsv`);
  const examples = readText(file, `MGSM ${lang}`)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const tab = line.lastIndexOf('\t');
      if (tab < 0) throw new BenchmarkDataError(`${file}:${i + 1}: no tab between question and answer`);
      return { id: `${lang}/${i}`, input: line.slice(0, tab).trim(), targets: [line.slice(tab + 1).trim()] };
    });
  const exemplarsFile = join(dir, MGSM_EXEMPLARS_FILE);
  const native = existsSync(exemplarsFile) ? readMgsmExemplars(readText(exemplarsFile, 'MGSM exemplars'), exemplarsFile)[lang] : undefined;
  return {
    suite: 'mgsm',
    name: lang,
    examples,
    exemplars: native?.exemplars ?? [],
    questionPrefix: native?.questionPrefix ?? 'Question: ',
    answerPrefix: native?.answerPrefix ?? 'Step-by-Step Answer: ',
  };
}

export interface MgsmLanguageExemplars {
  exemplars: Exemplar[];
  questionPrefix: string;
  answerPrefix: string;
}

/**
 * The header up to the first colon and the spacing after it: ASCII colons take a space, the
 * full-width ones of the zh and ja exemplars none, and prompts keep each language's own spacing.
 */
const HEADER = /^[^:：]*[:：]\s*/;

export function readMgsmExemplars(source: string, file: string): Record<string, MgsmLanguageExemplars> {
  let table: PyValue;
  try {
    table = readPythonAssignment(source, 'MGSM_EXEMPLARS');
  } catch (err) {
    throw new BenchmarkDataError(`${file}: ${(err as Error).message}`);
  }
  const out: Record<string, MgsmLanguageExemplars> = {};
  for (const [lang, byIndex] of Object.entries(asDict(table, file))) {
    const entries = Object.entries(asDict(byIndex, file)).sort(([a], [b]) => Number(a) - Number(b));
    let questionPrefix = 'Question: ';
    let answerPrefix = 'Step-by-Step Answer: ';
    const exemplars = entries.map(([index, qa]) => {
      const { q, a } = asDict(qa, file);
      if (typeof q !== 'string' || typeof a !== 'string') throw new BenchmarkDataError(`${file}: ${lang}[${index}] lacks "q" or "a"`);
      const qHead = HEADER.exec(q);
      const aHead = HEADER.exec(a);
      if (qHead) questionPrefix = qHead[0];
      if (aHead) answerPrefix = aHead[0];
      const rationale = aHead ? a.slice(aHead[0].length) : a;
      const target = lastNumber(rationale);
      if (target === undefined) throw new BenchmarkDataError(`${file}: ${lang}[${index}] answer has no number`);
      return { input: qHead ? q.slice(qHead[0].length) : q, target, rationale };
    });
    out[lang] = { exemplars, questionPrefix, answerPrefix };
  }
  return out;
}

function asDict(v: PyValue, file: string): Record<string, PyValue> {
  if (typeof v !== 'object' || Array.isArray(v)) throw new BenchmarkDataError(`${file}: MGSM_EXEMPLARS is not a dict of dicts`);
  return v;
}
