import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BenchmarkDataError, readText } from './read-text.ts';
import type { Exemplar, QaTask } from './types.ts';

/**
 * A BBH cot-prompts file: a canary line, a "-----" separator, the task description, then three
 * "Q: ...\nA: Let's think step by step.\n... So the answer is X." exemplars separated by blank lines.
 */
export interface BbhCotPrompt {
  /** Everything after the separator, verbatim: the published few-shot CoT prompt. */
  text: string;
  description: string;
  exemplars: Exemplar[];
}

const ANSWER_SENTENCE = /So the answer is (.*?)\.?\s*$/s;

export function parseBbhCotPrompt(raw: string, file: string): BbhCotPrompt {
  const separator = raw.indexOf('\n-----\n');
  if (separator < 0) throw new BenchmarkDataError(`${file}: no "-----" line after the canary`);
  const text = raw.slice(separator + '\n-----\n'.length).replace(/\s+$/, '');
  const blocks = text.split(/\n\n(?=Q: )/);
  const description = blocks[0].startsWith('Q: ') ? '' : blocks.shift()!;
  const exemplars = blocks.map((block, i) => {
    const m = /^Q: ([\s\S]*?)\nA: ([\s\S]*)$/.exec(block);
    if (!m) throw new BenchmarkDataError(`${file}: exemplar ${i + 1} is not "Q: ...\\nA: ..."`);
    const answer = ANSWER_SENTENCE.exec(m[2]);
    if (!answer) throw new BenchmarkDataError(`${file}: exemplar ${i + 1} has no "So the answer is"`);
    return { input: m[1], target: answer[1].trim(), rationale: m[2] };
  });
  return { text, description, exemplars };
}

export function bbhTaskNames(dir: string): string[] {
  const tasksDir = join(dir, 'tasks');
  let files: string[];
  try {
    files = readdirSync(tasksDir);
  } catch {
    throw new BenchmarkDataError(`BBH: ${tasksDir} is not a directory (expected tasks/*.json and cot-prompts/*.txt)`);
  }
  return files.filter((f) => f.endsWith('.json')).map((f) => basename(f, '.json')).sort();
}

export function loadBbhTask(dir: string, name: string): QaTask & { prompt: BbhCotPrompt } {
  const taskFile = join(dir, 'tasks', `${name}.json`);
  const promptFile = join(dir, 'cot-prompts', `${name}.txt`);
  const json = JSON.parse(readText(taskFile, `BBH task ${name}`)) as { examples?: { input: string; target: string }[] };
  if (!Array.isArray(json.examples)) throw new BenchmarkDataError(`${taskFile}: no "examples" array`);
  const prompt = parseBbhCotPrompt(readText(promptFile, `BBH cot-prompt ${name}`), promptFile);
  return {
    suite: 'bbh',
    name,
    examples: json.examples.map((e, i) => ({ id: `${name}/${i}`, input: e.input, targets: [e.target] })),
    exemplars: prompt.exemplars,
    prompt,
  };
}
