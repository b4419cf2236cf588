/**
 * Asks a running server 20 plainly phrased questions, greedy, as a new user would (no CoT trigger, no
 * template), and prints the model card's table of verbatim answers: issue 22's six questions first,
 * then other held-in families, held-out phrasings (never trained) and held-out families.
 *
 *   npx tsx models/build/plain-questions.ts http://127.0.0.1:PORT [MODEL]
 */
import { extractSyntheticAnswer, normalizeSyntheticAnswer } from '../../eval/benchmarks/synthetic-suite.ts';
import { COT_TARGET_TOKENS } from '../../finetune/data/synthetic/index.ts';

const QUESTIONS: readonly { kind: string; prompt: string; answer: string }[] = [
  { kind: 'issue 22', prompt: 'What is 23 plus 45?', answer: '68' },
  { kind: 'issue 22', prompt: 'What is 7 times 8?', answer: '56' },
  { kind: 'issue 22', prompt: 'Is this review positive or negative? I loved it.', answer: 'positive' },
  { kind: 'issue 22', prompt: 'Sort these numbers: 9, 2, 7, 4', answer: '2, 4, 7, 9' },
  { kind: 'issue 22', prompt: 'Reverse the words: red green blue', answer: 'blue green red' },
  { kind: 'issue 22', prompt: 'How many words are in this sentence: the cat sat on the mat', answer: '6' },
  { kind: 'trained phrasing', prompt: 'What is 81 minus 27?', answer: '54' },
  { kind: 'trained phrasing', prompt: 'Is 37 even or odd?', answer: 'odd' },
  { kind: 'trained phrasing', prompt: 'What is the smallest of 42, 17, 88, 23?', answer: '17' },
  { kind: 'trained phrasing', prompt: 'Sort these words: pear, apple, dog', answer: 'apple, dog, pear' },
  { kind: 'trained phrasing', prompt: 'What is the last word of lamp river stone?', answer: 'stone' },
  { kind: 'held-out phrasing', prompt: 'Work out 6 x 9.', answer: '54' },
  { kind: 'held-out phrasing', prompt: 'Tell me the total of 34 and 19.', answer: '53' },
  { kind: 'held-out phrasing', prompt: 'Rearrange these from lowest to highest: 15 3 42 8', answer: '3, 8, 15, 42' },
  { kind: 'held-out phrasing', prompt: 'Turn the order around: cat dog bird', answer: 'bird dog cat' },
  { kind: 'held-out phrasing', prompt: 'Tell me if this opinion is positive or negative: The ending was awful.', answer: 'negative' },
  { kind: 'original template', prompt: 'What is the plural of "cherry"?', answer: 'cherries' },
  { kind: 'original template', prompt: 'Comment: You are a liar and should shut up.\nIs this comment toxic? Answer yes or no.', answer: 'yes' },
  { kind: 'held-out family', prompt: 'What is the largest number in this list: 4, 19, 7?', answer: '19' },
  { kind: 'held-out family', prompt: 'What is the first word in: apple tree house?', answer: 'apple' },
];

const [server, model = 'flan-mini'] = process.argv.slice(2);
if (!server) throw new Error('usage: plain-questions.ts SERVER_URL [MODEL]');
let right = 0;
console.log('| | question | answer (verbatim, greedy) | right |');
console.log('| --- | --- | --- | --- |');
for (const [i, q] of QUESTIONS.entries()) {
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
console.log(`\n${right} of ${QUESTIONS.length} right`);
