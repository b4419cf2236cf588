/**
 * Asks a running server 20 plainly phrased questions, greedy, as a new user would (no CoT trigger, no
 * template), and prints the model card's table of verbatim answers: issue 22's six questions first,
 * then other held-in families, held-out phrasings (never trained) and held-out families.
 *
 *   npx tsx models/build/plain-questions.ts http://127.0.0.1:PORT [MODEL]
 */
import { extractSyntheticAnswer, normalizeSyntheticAnswer } from '../../eval/benchmarks/synthetic-suite.ts';
import { COT_TARGET_TOKENS } from '../../finetune/data/synthetic/index.ts';
import { PLAIN_QUESTIONS } from './plain-question-set.ts';

const [server, model = 'flan-mini'] = process.argv.slice(2);
if (!server) throw new Error('usage: plain-questions.ts SERVER_URL [MODEL]');
let right = 0;
console.log('| | question | answer (verbatim, greedy) | right |');
console.log('| --- | --- | --- | --- |');
for (const [i, q] of PLAIN_QUESTIONS.entries()) {
  const response = await fetch(`${server}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt: q.prompt, max_tokens: COT_TARGET_TOKENS, temperature: 0 }),
  });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  const text = ((await response.json()) as { choices: { text: string }[] }).choices[0].text;
  const ok = extractSyntheticAnswer(text, 'direct') === normalizeSyntheticAnswer(q.answer);
  if (ok) right++;
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, '\\n');
  console.log(`| ${i + 1} (${q.kind}) | ${cell(q.prompt)} | ${cell(text.trim())} | ${ok ? 'yes' : `no (${q.answer})`} |`);
}
console.log(`\n${right} of ${PLAIN_QUESTIONS.length} right`);
