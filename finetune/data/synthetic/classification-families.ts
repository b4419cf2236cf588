import type { SeededRandom } from '../../../runtime/seeded-random.ts';
import { pick, type TaskFamily } from './problem.ts';

const GOOD = [
  'wonderful', 'great', 'lovely', 'excellent', 'brilliant', 'delightful', 'fantastic', 'charming', 'superb', 'moving', 'gorgeous',
  'memorable', 'impressive', 'enjoyable', 'beautiful', 'outstanding',
];
const BAD = [
  'terrible', 'awful', 'boring', 'dreadful', 'horrible', 'disappointing', 'painful', 'dull', 'tedious', 'clumsy', 'forgettable',
  'mediocre', 'annoying', 'pointless', 'messy', 'unbearable',
];

/** One or two opinion phrases, with a neutral clause between so the label is not always word one. */
function opinion(rng: SeededRandom, subjects: readonly string[], neutral: readonly string[]): { text: string; label: string } {
  const positive = rng.next() < 0.5;
  const words = positive ? GOOD : BAD;
  const subject = pick(rng, subjects);
  const first = `The ${subject} was ${pick(rng, words)}`;
  const second = rng.next() < 0.5 ? ` and ${pick(rng, neutral)}` : '';
  const third = rng.next() < 0.5 ? `, truly ${pick(rng, words)}` : '';
  return { text: `${first}${second}${third}.`, label: positive ? 'positive' : 'negative' };
}

export const movieSentiment: TaskFamily = {
  name: 'sentiment_movie',
  templates: ['Review: {q}\nIs this review positive or negative?', 'What is the sentiment of this movie review? {q}', '{q}\nSentiment (positive or negative):'],
  labels: ['positive', 'negative'],
  make(rng) {
    const o = opinion(rng, ['film', 'movie', 'acting', 'story', 'ending', 'soundtrack', 'plot', 'dialogue', 'camera work', 'sequel'], ['it lasted two hours', 'I saw it on Sunday', 'the cinema was full', 'my sister came along', 'it was dubbed', 'the tickets were cheap']);
    return { question: o.text, answer: o.label };
  },
};

/** Held out: the same opinion words about products, under templates the model has not seen. */
export const productSentiment: TaskFamily = {
  name: 'sentiment_product',
  templates: ['Customer feedback: {q}\nWas the customer happy or unhappy? Answer positive or negative.', 'Classify the product review as positive or negative: {q}', '{q}\nTone of the feedback:'],
  labels: ['positive', 'negative'],
  make(rng) {
    const o = opinion(rng, ['phone', 'blender', 'jacket', 'delivery', 'battery', 'lamp'], ['it came in a box', 'I bought it in May', 'it is blue']);
    return { question: o.text, answer: o.label };
  },
};

// A mild, fixed lexicon: enough for a classification task without shipping abusive text in the repo.
const INSULTS = ['idiot', 'stupid', 'moron', 'loser', 'pathetic', 'dumb', 'clown', 'fool', 'coward', 'liar'];
const KIND = ['friend', 'helpful', 'kind', 'smart', 'thoughtful', 'clever', 'generous', 'patient', 'talented', 'honest'];

export const toxicity: TaskFamily = {
  name: 'toxicity',
  templates: ['Comment: {q}\nIs this comment toxic? Answer yes or no.', 'Would most people find this comment toxic? {q}', '{q}\nToxic (yes or no):'],
  labels: ['yes', 'no'],
  make(rng) {
    const toxic = rng.next() < 0.5;
    const who = pick(rng, ['You are', 'Your brother is', 'The author is', 'This reviewer is', 'The moderator is', 'Your neighbour is', 'The poster is']);
    const text = toxic
      ? `${who} a ${pick(rng, INSULTS)} and should shut up.`
      : `${who} ${pick(rng, ['a', 'very'])} ${pick(rng, KIND)}, thanks for the post.`;
    return { question: text, answer: toxic ? 'yes' : 'no' };
  },
};
