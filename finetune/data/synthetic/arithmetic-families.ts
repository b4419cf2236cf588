import { countingSteps } from './arithmetic-steps.ts';
import { between, type TaskFamily } from './problem.ts';

// Numbers mostly stay below 100 (one token each in the flan-mini vocabulary) where they are copied or
// combined: a model of a few million parameters trained for an hour can learn sums of such numbers in
// small steps, not to multiply long ones.

export const addition: TaskFamily = {
  name: 'addition',
  templates: ['What is {q}?', 'Compute {q}.', 'Calculate: {q}', 'Add the numbers: {q}'],
  make(rng) {
    const a = between(rng, 1, 50);
    const b = between(rng, 1, 50);
    return { question: `${a} + ${b}`, answer: String(a + b), rationale: `We add ${b} to ${a}. ${countingSteps(a, '+', b)}.` };
  },
};

export const subtraction: TaskFamily = {
  name: 'subtraction',
  templates: ['What is {q}?', 'Compute {q}.', 'Calculate: {q}', 'Subtract: {q}'],
  make(rng) {
    const a = between(rng, 10, 99);
    const b = between(rng, 1, a);
    return { question: `${a} - ${b}`, answer: String(a - b), rationale: `We take ${b} away from ${a}. ${countingSteps(a, '-', b)}.` };
  },
};

export const multiplication: TaskFamily = {
  name: 'multiplication',
  templates: ['What is {q}?', 'Compute {q}.', 'Calculate: {q}', 'Multiply: {q}'],
  make(rng) {
    const a = between(rng, 2, 12);
    const b = between(rng, 2, 9);
    const partial = Array.from({ length: b }, () => a).join(' + ');
    return { question: `${a} * ${b}`, answer: String(a * b), rationale: `${a} * ${b} means ${b} times ${a}: ${partial} = ${a * b}.` };
  },
};

export const evenOdd: TaskFamily = {
  name: 'even_odd',
  templates: ['Is {q} even or odd?', 'Even or odd: {q}', 'Tell me whether the number {q} is even or odd.'],
  labels: ['even', 'odd'],
  make(rng) {
    const n = between(rng, 1, 999);
    const last = n % 10;
    const answer = n % 2 === 0 ? 'even' : 'odd';
    return { question: String(n), answer, rationale: `The last digit of ${n} is ${last}, which is ${answer}.` };
  },
};

function numberList(rng: Parameters<TaskFamily['make']>[0], count: number): number[] {
  return Array.from({ length: count }, () => between(rng, 1, 99));
}

export const minimum: TaskFamily = {
  name: 'min_of_list',
  templates: ['What is the smallest number in this list: {q}?', 'Find the minimum of {q}.', 'Numbers: {q}\nWhich one is the smallest?'],
  make(rng) {
    const xs = numberList(rng, between(rng, 3, 6));
    return { question: xs.join(', '), answer: String(Math.min(...xs)) };
  },
};

/** Held out: the mirror of min_of_list under new phrasings. */
export const maximum: TaskFamily = {
  name: 'max_of_list',
  templates: ['What is the largest number in this list: {q}?', 'Find the maximum of {q}.', 'Numbers: {q}\nWhich one is the largest?'],
  make(rng) {
    const xs = numberList(rng, between(rng, 3, 6));
    return { question: xs.join(', '), answer: String(Math.max(...xs)) };
  },
};

export const sortNumbers: TaskFamily = {
  name: 'sort_numbers',
  templates: ['Sort these numbers from smallest to largest: {q}', 'Put in increasing order: {q}', 'Order the numbers {q} from low to high.'],
  make(rng) {
    const xs = numberList(rng, between(rng, 3, 5));
    return { question: xs.join(', '), answer: [...xs].sort((a, b) => a - b).join(', ') };
  },
};

/** Held out: a comparison the model has only seen inside min/max and sorting. */
export const compareNumbers: TaskFamily = {
  name: 'compare_numbers',
  templates: ['Which number is bigger, {q}?', 'Which is larger: {q}?', 'Pick the greater number: {q}'],
  randomBaseline: 0.5,
  make(rng) {
    const a = between(rng, 1, 99);
    let b = between(rng, 1, 98);
    if (b >= a) b++;
    return { question: `${a} or ${b}`, answer: String(Math.max(a, b)), rationale: `${Math.max(a, b)} is more than ${Math.min(a, b)}.` };
  },
};
