import type { SeededRandom } from '../../../runtime/seeded-random.ts';
import { between, pick, type TaskFamily } from './problem.ts';

interface BoolExpr {
  text: string;
  value: boolean;
  /** The reduction steps, innermost first, for the rationale. */
  steps: string[];
}

function boolExpr(rng: SeededRandom, depth: number): BoolExpr {
  if (depth === 0) {
    const value = rng.next() < 0.5;
    if (rng.next() < 0.3) return { text: `not ${cap(!value)}`, value, steps: [`not ${cap(!value)} is ${cap(value)}`] };
    return { text: cap(value), value, steps: [] };
  }
  const left = boolExpr(rng, depth - 1);
  const right = boolExpr(rng, 0);
  const op = pick(rng, ['and', 'or'] as const);
  const value = op === 'and' ? left.value && right.value : left.value || right.value;
  const text = depth > 1 ? `( ${left.text} ) ${op} ${right.text}` : `${left.text} ${op} ${right.text}`;
  return { text, value, steps: [...left.steps, ...right.steps, `${cap(left.value)} ${op} ${cap(right.value)} is ${cap(value)}`] };
}

const cap = (b: boolean) => (b ? 'True' : 'False');

export const booleanExpressions: TaskFamily = {
  name: 'boolean_expressions',
  templates: ['Evaluate the result of a random Boolean expression: {q}', 'Is this expression True or False? {q}', '{q} is'],
  labels: ['True', 'False'],
  make(rng) {
    const e = boolExpr(rng, between(rng, 1, 2));
    return { question: e.text, answer: cap(e.value), rationale: `${e.steps.join('. ')}.` };
  },
};

export const bracketMatching: TaskFamily = {
  name: 'bracket_matching',
  templates: ['Are the brackets in this sequence balanced? {q}', 'Is the sequence {q} properly closed? Answer yes or no.', 'Brackets: {q}\nBalanced (yes or no)?'],
  labels: ['yes', 'no'],
  make(rng) {
    const pairs = ['()', '[]', '{}'];
    const tokens: string[] = [];
    const build = (n: number): void => {
      for (let i = 0; i < n; i++) {
        const p = pick(rng, pairs);
        tokens.push(p[0]);
        if (rng.next() < 0.35) build(1);
        tokens.push(p[1]);
      }
    };
    build(between(rng, 1, 3));
    const balanced = rng.next() < 0.5;
    if (!balanced) {
      const i = rng.int(tokens.length);
      const swap: Record<string, string> = { '(': ']', ')': '}', '[': ')', ']': '(', '{': '[', '}': ')' };
      if (rng.next() < 0.5) tokens[i] = swap[tokens[i]];
      else tokens.splice(i, 1);
    }
    const answer = isBalanced(tokens) ? 'yes' : 'no';
    return { question: tokens.join(' '), answer };
  },
};

function isBalanced(tokens: readonly string[]): boolean {
  const open: string[] = [];
  const closes: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const t of tokens) {
    if (t in closes) {
      if (open.pop() !== closes[t]) return false;
    } else open.push(t);
  }
  return open.length === 0;
}

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export const weekdayArithmetic: TaskFamily = {
  name: 'date_weekday',
  templates: ['{q}', 'Question: {q}', 'Date question: {q}'],
  labels: WEEKDAYS,
  make(rng) {
    const start = rng.int(7);
    const days = between(rng, 1, 12);
    const end = (start + days) % 7;
    const wraps = start + days >= 7 ? ` Counting past Sunday we start again at Monday.` : '';
    return {
      question: `Today is ${WEEKDAYS[start]}. What day of the week will it be in ${days} days?`,
      answer: WEEKDAYS[end],
      rationale: `${WEEKDAYS[start]} plus ${days} days.${wraps} ${days} days after ${WEEKDAYS[start]} is ${WEEKDAYS[end]}.`,
    };
  },
};

export const monthArithmetic: TaskFamily = {
  name: 'date_month',
  templates: ['{q}', 'Question: {q}', 'Calendar question: {q}'],
  labels: MONTHS,
  make(rng) {
    const start = rng.int(12);
    const months = between(rng, 1, 14);
    const end = (start + months) % 12;
    return {
      question: `It is ${MONTHS[start]} now. Which month will it be in ${months} months?`,
      answer: MONTHS[end],
      rationale: `${MONTHS[start]} is month ${start + 1}. ${start + 1} + ${months} = ${start + 1 + months}${start + 1 + months > 12 ? `, and past December we subtract 12: ${start + 1 + months} - 12 = ${end + 1}` : ''}. Month ${end + 1} is ${MONTHS[end]}.`,
    };
  },
};
