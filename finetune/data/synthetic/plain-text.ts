import { SeededRandom } from '../../../runtime/seeded-random.ts';
import { FAMILIES, isHeldOut } from './families.ts';
import { proseDocument } from './prose.ts';
import { fillTemplate } from './render.ts';

/**
 * Plain text for span-corruption pretraining, from the same generator: each document states a few
 * held-in problems as prose, reasoning and answer included. Held-out families are left out here too,
 * so the base model has never read their phrasings or (for Italian) their language. A third of the
 * documents are everyday prose (prose.ts) instead.
 */
export function generatePlainText(seed: number, documents: number): string[] {
  const rng = SeededRandom.fromSeed(seed);
  const families = FAMILIES.filter((f) => !isHeldOut(f.name));
  const docs: string[] = [];
  for (let d = 0; d < documents; d++) {
    if (rng.next() < PROSE_SHARE) {
      docs.push(proseDocument(rng));
      continue;
    }
    const sentences: string[] = [];
    const count = 1 + rng.int(3);
    for (let i = 0; i < count; i++) {
      const family = families[rng.int(families.length)];
      const p = family.make(rng);
      const question = fillTemplate(family.templates[rng.int(family.templates.length)], p.question);
      const parts = [question, p.rationale, `The answer is ${p.answer}.`].filter((s) => s !== undefined);
      sentences.push(parts.join(' '));
    }
    docs.push(sentences.join('\n'));
  }
  return docs;
}

const PROSE_SHARE = 1 / 3;
