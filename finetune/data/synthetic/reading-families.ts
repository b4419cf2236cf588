import type { SeededRandom } from '../../../runtime/seeded-random.ts';
import { ANIMALS, distinct, NAMES, pick, type TaskFamily } from './problem.ts';

const CITIES = [
  'Paris', 'Rome', 'Madrid', 'Berlin', 'Lisbon', 'Vienna', 'Oslo', 'Dublin', 'Prague', 'Athens', 'London', 'Warsaw', 'Budapest',
  'Stockholm', 'Helsinki', 'Brussels', 'Amsterdam', 'Zurich', 'Milan', 'Naples', 'Seville', 'Porto', 'Munich', 'Hamburg', 'Krakow',
  'Geneva', 'Lyon', 'Marseille', 'Valencia', 'Copenhagen',
];
const JOBS = [
  'baker', 'doctor', 'teacher', 'pilot', 'farmer', 'painter', 'nurse', 'cook', 'driver', 'singer', 'dentist', 'lawyer', 'plumber',
  'architect', 'engineer', 'librarian', 'journalist', 'gardener', 'carpenter', 'musician', 'photographer', 'tailor', 'butcher', 'sailor',
];
const COLORS = ['red', 'blue', 'green', 'yellow', 'black', 'white', 'purple', 'orange', 'brown', 'grey', 'pink', 'silver'];
const LETTERS = ['A', 'B', 'C', 'D'];

interface Person {
  name: string;
  city: string;
  job: string;
  pet: string;
  color: string;
}

function people(rng: SeededRandom, count: number): Person[] {
  const names = distinct(rng, NAMES, count);
  const cities = distinct(rng, CITIES, count);
  const jobs = distinct(rng, JOBS, count);
  const pets = distinct(rng, ANIMALS, count);
  const colors = distinct(rng, COLORS, count);
  return names.map((name, i) => ({ name, city: cities[i], job: jobs[i], pet: pets[i], color: colors[i] }));
}

const ATTRIBUTES = [
  { key: 'city', question: (n: string) => `Where does ${n} live?`, fact: (p: Person) => `${p.name} lives in ${p.city}.` },
  { key: 'job', question: (n: string) => `What is ${n}'s job?`, fact: (p: Person) => `${p.name} works as a ${p.job}.` },
  { key: 'pet', question: (n: string) => `Which animal does ${n} own?`, fact: (p: Person) => `${p.name} has a ${p.pet}.` },
  { key: 'color', question: (n: string) => `What is ${n}'s favourite colour?`, fact: (p: Person) => `${p.name} likes the colour ${p.color}.` },
] as const;

/** A small table (name | city | job | pet) and a question with options (A)-(D), answered by letter. */
export const factTableChoice: TaskFamily = {
  name: 'fact_table_choice',
  templates: ['{q}', 'Read the table and answer.\n{q}', 'Use the table to answer the question.\n{q}'],
  labels: ['(A)', '(B)', '(C)', '(D)'],
  make(rng) {
    const rows = people(rng, 4);
    const attr = pick(rng, ATTRIBUTES.slice(0, 3));
    const target = pick(rng, rows);
    const key = attr.key as 'city' | 'job' | 'pet';
    const options = rng.shuffle(rows.map((r) => r[key]));
    const letter = LETTERS[options.indexOf(target[key])];
    const table = ['name | city | job | pet', ...rows.map((r) => `${r.name} | ${r.city} | ${r.job} | ${r.pet}`)].join('\n');
    const opts = options.map((o, i) => `(${LETTERS[i]}) ${o}`).join('\n');
    return {
      question: `${table}\n${attr.question(target.name)}\nOptions:\n${opts}`,
      answer: `(${letter})`,
      rationale: `In the row of ${target.name} the ${key} is ${target[key]}. ${target[key]} is option (${letter}).`,
    };
  },
};

/** A short passage of facts; the answer is a span of it. */
export const extractiveQa: TaskFamily = {
  name: 'extractive_qa',
  templates: ['{q}', 'Answer the question from the passage.\n{q}', 'Read this and answer.\n{q}'],
  make(rng) {
    const rows = people(rng, 2);
    const facts = rows.flatMap((p) => distinct(rng, ATTRIBUTES, 2).map((a) => ({ p, a })));
    const asked = pick(rng, facts);
    const passage = facts.map((f) => f.a.fact(f.p)).join(' ');
    return { question: `Passage: ${passage}\nQuestion: ${asked.a.question(asked.p.name)}`, answer: asked.p[asked.a.key] };
  },
};

/** Does the hypothesis follow from the premise? Quantities and ownership make it checkable. */
export const entailment: TaskFamily = {
  name: 'entailment',
  templates: ['{q}\nDoes the premise entail the hypothesis? Answer yes or no.', '{q}\nIs the hypothesis true given the premise (yes or no)?', 'Read the premise and hypothesis.\n{q}\nEntailed?'],
  labels: ['yes', 'no'],
  make(rng) {
    const [a, b] = distinct(rng, NAMES, 2);
    const animal = pick(rng, ANIMALS);
    const count = 2 + rng.int(5);
    const premise = `${a} has ${count} ${animal}s and ${b} has none.`;
    const cases = [
      { h: `${a} has ${animal}s.`, yes: true, why: `${a} has ${count} ${animal}s, so ${a} has ${animal}s.` },
      { h: `${b} has a ${animal}.`, yes: false, why: `${b} has no ${animal}s.` },
      { h: `${a} has more than ${count - 1} ${animal}s.`, yes: true, why: `${count} is more than ${count - 1}.` },
      { h: `${a} has ${count + 2} ${animal}s.`, yes: false, why: `${a} has ${count}, not ${count + 2}.` },
      { h: `${b} has fewer ${animal}s than ${a}.`, yes: true, why: `0 is fewer than ${count}.` },
    ];
    const c = pick(rng, cases);
    return { question: `Premise: ${premise}\nHypothesis: ${c.h}`, answer: c.yes ? 'yes' : 'no', rationale: c.why };
  },
};
