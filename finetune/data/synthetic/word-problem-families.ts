import { countingSteps, ENGLISH_COUNTING, plural, type CountingWords } from './arithmetic-steps.ts';
import { between, distinct, NAMES, pick, type TaskFamily } from './problem.ts';

/**
 * Two-step word problems (gain then loss) told in one language each, as MGSM does. The rationale is
 * in the problem's language; "So the answer is N." stays English because it is the form the engine's
 * answer extraction and the eval harness read.
 */
interface Language {
  code: string;
  items: string[];
  templates: string[];
  counting: CountingWords;
  story(a: string, b: string, item: string, start: number, gain: number, loss: number): string;
  /** `gained` and `lost` are the worked sums (countingSteps), `start + gain: ... = N` and `N - loss: ... = M`. */
  reasoning(a: string, item: string, start: number, gain: number, loss: number, gained: string, lost: string): string;
}

const LANGUAGES: Language[] = [
  {
    code: 'en',
    items: ['apples', 'marbles', 'stickers', 'cookies', 'books'],
    templates: ['{q}', 'Solve the word problem. {q}', 'Question: {q}'],
    counting: ENGLISH_COUNTING,
    story: (a, b, item, s, g, l) => `${a} has ${s} ${item}. ${a} buys ${g} more and then gives ${l} to ${b}. How many ${item} does ${a} have now?`,
    reasoning: (a, item, s, g, l, gained, lost) => `${a} starts with ${s} ${item}. After buying ${g} more, ${a} has ${gained}. After giving away ${l}, ${a} has ${lost}.`,
  },
  {
    code: 'fr',
    items: ['pommes', 'billes', 'livres', 'biscuits'],
    templates: ['{q}', 'Résous le problème. {q}', 'Question : {q}'],
    counting: { from: (x, op) => `en ${op === '+' ? 'avançant' : 'reculant'} depuis ${x}`, tens: (n) => plural(n, 'dizaine', 'dizaines'), ones: (n) => plural(n, 'unité', 'unités') },
    story: (a, b, item, s, g, l) => `${a} a ${s} ${item}. ${a} en achète ${g} de plus puis en donne ${l} à ${b}. Combien de ${item} ${a} a-t-il maintenant ?`,
    reasoning: (a, item, s, g, l, gained, lost) => `${a} commence avec ${s} ${item}. Après en avoir acheté ${g}, ${a} a ${gained}. Après en avoir donné ${l}, ${a} a ${lost}.`,
  },
  {
    code: 'es',
    items: ['manzanas', 'canicas', 'libros', 'galletas'],
    templates: ['{q}', 'Resuelve el problema. {q}', 'Pregunta: {q}'],
    counting: { from: (x, op) => `contando hacia ${op === '+' ? 'arriba' : 'atrás'} desde ${x}`, tens: (n) => plural(n, 'decena', 'decenas'), ones: (n) => plural(n, 'unidad', 'unidades') },
    story: (a, b, item, s, g, l) => `${a} tiene ${s} ${item}. ${a} compra ${g} más y luego le da ${l} a ${b}. ¿Cuántas ${item} tiene ${a} ahora?`,
    reasoning: (a, item, s, g, l, gained, lost) => `${a} empieza con ${s} ${item}. Después de comprar ${g}, ${a} tiene ${gained}. Después de dar ${l}, ${a} tiene ${lost}.`,
  },
  {
    code: 'de',
    items: ['Äpfel', 'Murmeln', 'Bücher', 'Kekse'],
    templates: ['{q}', 'Löse die Aufgabe. {q}', 'Frage: {q}'],
    counting: { from: (x, op) => `von ${x} ${op === '+' ? 'aufwärts' : 'abwärts'} gezählt`, tens: () => 'Zehner', ones: () => 'Einer' },
    story: (a, b, item, s, g, l) => `${a} hat ${s} ${item}. ${a} kauft ${g} dazu und gibt dann ${l} an ${b}. Wie viele ${item} hat ${a} jetzt?`,
    reasoning: (a, item, s, g, l, gained, lost) => `${a} beginnt mit ${s} ${item}. Nach dem Kauf von ${g} hat ${a} ${gained}. Nach dem Abgeben von ${l} hat ${a} ${lost}.`,
  },
  {
    // Held out: a language the instruction mixture never uses (its span-corruption text does not either).
    code: 'it',
    items: ['mele', 'biglie', 'libri', 'biscotti'],
    templates: ['{q}', 'Risolvi il problema. {q}', 'Domanda: {q}'],
    counting: { from: (x, op) => `contando ${op === '+' ? 'in avanti' : "all'indietro"} da ${x}`, tens: (n) => plural(n, 'decina', 'decine'), ones: () => 'unità' },
    story: (a, b, item, s, g, l) => `${a} ha ${s} ${item}. ${a} ne compra altri ${g} e poi ne dà ${l} a ${b}. Quanti ${item} ha ${a} adesso?`,
    reasoning: (a, item, s, g, l, gained, lost) => `${a} inizia con ${s} ${item}. Dopo averne comprati ${g}, ${a} ha ${gained}. Dopo averne dati ${l}, ${a} ha ${lost}.`,
  },
];

function wordProblemFamily(language: Language): TaskFamily {
  return {
    name: `word_problem_${language.code}`,
    templates: language.templates,
    make(rng) {
      const [a, b] = distinct(rng, NAMES, 2);
      const item = pick(rng, language.items);
      const start = between(rng, 2, 20);
      const gain = between(rng, 1, 10);
      const loss = between(rng, 1, start + gain - 1);
      return {
        question: language.story(a, b, item, start, gain, loss),
        answer: String(start + gain - loss),
        rationale: language.reasoning(
          a, item, start, gain, loss,
          countingSteps(start, '+', gain, language.counting),
          countingSteps(start + gain, '-', loss, language.counting),
        ),
      };
    },
  };
}

export const [wordProblemEn, wordProblemFr, wordProblemEs, wordProblemDe, wordProblemIt] = LANGUAGES.map(wordProblemFamily);
