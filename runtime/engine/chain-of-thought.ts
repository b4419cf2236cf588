import type { ChainOfThought, CotExemplar, Vote } from './engine-api.ts';

/** Kojima et al.'s trigger, as the Flan collection's zero-shot CoT templates use it. */
export const COT_TRIGGER = "Let's think step by step.";

/**
 * The prompt a chain-of-thought request sends to the encoder. Flan's CoT templates put the question
 * first and the trigger after "A:"; few-shot exemplars end with "So the answer is X." so the model
 * learns where its answer goes.
 */
export function buildCotPrompt(question: string, cot: ChainOfThought): string {
  const q = question.trim();
  if (cot.mode === 'zero-shot') return `Q: ${q}\nA: ${COT_TRIGGER}`;
  const shots = (cot.exemplars ?? []).map(formatExemplar).join('\n\n');
  return `${shots}${shots ? '\n\n' : ''}Q: ${q}\nA:`;
}

function formatExemplar(e: CotExemplar): string {
  const rationale = e.rationale.trim();
  const separator = rationale && !/[.!?]$/.test(rationale) ? '. ' : ' ';
  return `Q: ${e.question.trim()}\nA: ${rationale}${rationale ? separator : ''}So the answer is ${e.answer.trim()}.`;
}

const ANSWER_PHRASES = [
  /so the (?:final )?answer is[:\s]*(.+)/i,
  /the (?:final )?answer is[:\s]*(.+)/i,
  /answer[:\s]+(.+)/i,
  /therefore,?\s+(?:the answer is\s*)?(.+)/i,
];

/**
 * The final answer of a chain-of-thought text: the phrase after "So the answer is" (or its variants),
 * else the last option letter, else the last number. Undefined when nothing answer-like is there.
 */
export function extractAnswer(text: string): string | undefined {
  for (const phrase of ANSWER_PHRASES) {
    const matches = [...text.matchAll(new RegExp(phrase.source, 'gi'))];
    const last = matches.at(-1);
    if (last) {
      const answer = cleanAnswer(firstSentence(last[1]));
      if (answer) return answer;
    }
  }
  const option = [...text.matchAll(/\(([A-J])\)/g)].at(-1);
  if (option) return `(${option[1]})`;
  const number = lastNumber(text);
  return number;
}

function firstSentence(s: string): string {
  // A period ends the answer unless it sits inside a number ("12.5").
  const end = s.search(/\.(?!\d)|\n/);
  return end === -1 ? s : s.slice(0, end);
}

function cleanAnswer(s: string): string {
  return s.trim().replace(/^["'`]+|["'`]+$/g, '').trim();
}

export function lastNumber(text: string): string | undefined {
  const numbers = [...text.matchAll(/-?\d[\d,]*(?:\.\d+)?/g)].map((m) => m[0]);
  const last = numbers.at(-1);
  return last === undefined ? undefined : canonicalNumber(last);
}

function canonicalNumber(s: string): string {
  // Commas count as thousands separators only where they group by three ("1,250"), not in "1,1".
  const grouped = /^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s);
  const n = Number(grouped ? s.replace(/,/g, '') : s);
  return Number.isFinite(n) ? String(n) : s;
}

/**
 * The key answers are voted by: "(B)", "B" and "b." are one vote; "1,000", "1000" and "1000.0" too.
 */
export function answerKey(answer: string): string {
  let a = answer.trim().replace(/[.!]+$/, '').trim();
  const option = /^\(?([A-Ja-j])\)?$/.exec(a);
  if (option) return `(${option[1].toUpperCase()})`;
  const leadingOption = /^\(([A-J])\)/.exec(a);
  if (leadingOption) return `(${leadingOption[1]})`;
  if (/^-?[\d,]+(?:\.\d+)?$/.test(a)) return canonicalNumber(a);
  a = a.replace(/^\$/, '');
  if (/^-?[\d,]+(?:\.\d+)?$/.test(a)) return canonicalNumber(a);
  return a.toLowerCase();
}

/**
 * Self-consistency's majority vote over extracted answers. Samples with no answer count in the total
 * (they lower the winner's share) but never win; ties go to the answer seen first.
 */
export function voteAnswers(answers: readonly (string | undefined)[]): Vote | undefined {
  const tally: Record<string, number> = {};
  const order: string[] = [];
  for (const a of answers) {
    if (a === undefined) continue;
    const key = answerKey(a);
    if (!(key in tally)) {
      tally[key] = 0;
      order.push(key);
    }
    tally[key]++;
  }
  if (order.length === 0) return undefined;
  const winner = order.reduce((best, key) => (tally[key] > tally[best] ? key : best), order[0]);
  return { answer: winner, share: tally[winner] / answers.length, tally };
}

/**
 * The vote's winner in the wording of the first sample that gave it ("(B)" rather than the key "(b)"
 * of a text answer): what the eval harness scores, so that it and the engine never disagree.
 */
export function votedAnswer(answers: readonly (string | undefined)[]): string | undefined {
  const winner = voteAnswers(answers)?.answer;
  return answers.find((a) => a !== undefined && answerKey(a) === winner);
}
