import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BenchmarkDataError, readText } from './read-text.ts';
import type { Exemplar, QaExample, QaTask } from './types.ts';

/**
 * TyDiQA-GoldP's public files (tydiqa-goldp-v1.1-dev.json, -train.json) are SQuAD v1.1 JSON; each
 * question id starts with its language ("swahili-123...-0"), which is how the tasks are split.
 */
interface SquadFile {
  data: { paragraphs: { context: string; qas: { id: string; question: string; answers: { text: string }[] }[] }[] }[];
}

export function findTydiqaFiles(dir: string): { dev: string; train?: string } {
  const files = existsSync(dir) ? readdirSync(dir) : [];
  const dev = files.find((f) => /dev\.json$/.test(f)) ?? files.find((f) => f.endsWith('.json') && !/train/.test(f));
  if (!dev) throw new BenchmarkDataError(`TyDiQA: no *dev.json in ${dir} (expected tydiqa-goldp-v1.1-dev.json)`);
  const train = files.find((f) => /train\.json$/.test(f));
  return { dev: join(dir, dev), ...(train ? { train: join(dir, train) } : {}) };
}

function readSquad(file: string): Map<string, QaExample[]> {
  const json = JSON.parse(readText(file, 'TyDiQA')) as SquadFile;
  if (!Array.isArray(json.data)) throw new BenchmarkDataError(`${file}: no SQuAD "data" array`);
  const byLanguage = new Map<string, QaExample[]>();
  for (const article of json.data) {
    for (const paragraph of article.paragraphs) {
      for (const qa of paragraph.qas) {
        const language = qa.id.split('-')[0];
        const list = byLanguage.get(language) ?? [];
        list.push({ id: qa.id, input: qa.question, context: paragraph.context, targets: qa.answers.map((a) => a.text) });
        byLanguage.set(language, list);
      }
    }
  }
  return byLanguage;
}

export function loadTydiqaTasks(dir: string): QaTask[] {
  const files = findTydiqaFiles(dir);
  const dev = readSquad(files.dev);
  const train = files.train ? readSquad(files.train) : undefined;
  return [...dev.keys()].sort().map((language) => {
    let examples = dev.get(language)!;
    // The 1-shot exemplar comes from the training split; without one, the first dev question serves
    // and leaves the scored set, so no question is its own exemplar.
    let shot = train?.get(language)?.[0];
    if (!shot) [shot, ...examples] = examples;
    const exemplar: Exemplar = { input: shot.input, context: shot.context, target: shot.targets[0] ?? '' };
    return { suite: 'tydiqa', name: language, examples, exemplars: [exemplar] };
  });
}
