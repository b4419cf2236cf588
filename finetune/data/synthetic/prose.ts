import type { SeededRandom } from '../../../runtime/seeded-random.ts';
import { ANIMALS, FRUITS, NAMES, NOUNS, pick, VEHICLES } from './problem.ts';

/**
 * Everyday prose for span-corruption pretraining only: short scenes over a lexicon several times the
 * tasks' own, so the base model (and the BPE vocabulary learned from this text) sees ordinary English
 * and not only the task families' phrasings, as T5's C4 pretraining does at scale.
 */
const PLACES = [
  'the market', 'the station', 'the library', 'the harbour', 'the museum', 'the bakery', 'the park', 'the village', 'the mountains',
  'the beach', 'the forest', 'the hospital', 'the school', 'the kitchen', 'the office', 'the theatre', 'the stadium', 'the bridge',
  'the castle', 'the farm', 'the airport', 'the garage', 'the cathedral', 'the valley', 'the island', 'the factory', 'the cafe',
];
const TIMES = [
  'On Monday', 'Last week', 'Every morning', 'Yesterday', 'In the evening', 'After lunch', 'Early in spring', 'During the winter',
  'Before sunrise', 'At midnight', 'On a rainy afternoon', 'In the summer holidays', 'Once a month', 'Later that day',
];
const VERBS = [
  'visited', 'painted', 'repaired', 'cleaned', 'discovered', 'photographed', 'described', 'carried', 'borrowed', 'delivered',
  'followed', 'watched', 'noticed', 'collected', 'measured', 'decorated', 'explored', 'remembered', 'imagined', 'ordered',
  'prepared', 'organised', 'finished', 'answered', 'recorded', 'translated', 'protected', 'celebrated', 'surprised', 'invited',
];
const ADJECTIVES = [
  'quiet', 'crowded', 'ancient', 'modern', 'narrow', 'enormous', 'tiny', 'colourful', 'peaceful', 'noisy', 'famous', 'hidden',
  'comfortable', 'dangerous', 'elegant', 'friendly', 'mysterious', 'ordinary', 'precious', 'simple', 'strange', 'wooden', 'golden',
  'frozen', 'shiny', 'heavy', 'gentle', 'careful', 'curious', 'cheerful', 'nervous', 'patient', 'proud', 'sleepy', 'busy',
];
const THINGS = [
  'letter', 'newspaper', 'blanket', 'basket', 'ladder', 'umbrella', 'bicycle', 'camera', 'guitar', 'notebook', 'painting', 'sandwich',
  'suitcase', 'telescope', 'violin', 'wallet', 'jacket', 'kettle', 'mirror', 'necklace', 'pillow', 'compass', 'candle', 'envelope',
  'puzzle', 'recipe', 'ticket', 'postcard', 'statue', 'fountain', 'lantern', 'backpack', 'calendar', 'hammer', 'ribbon',
];
const FEELINGS = [
  'happy', 'tired', 'excited', 'worried', 'hungry', 'relieved', 'grateful', 'confused', 'delighted', 'disappointed', 'amazed',
];
const ENDINGS = [
  'Nobody expected that.', 'It was a good day.', 'Then everyone went home.', 'The story was told for years.',
  'It started to rain soon after.', 'Nothing else happened that week.', 'Everybody laughed about it later.',
];

const things = [...THINGS, ...NOUNS, ...FRUITS, ...ANIMALS, ...VEHICLES];

/** One short scene of three to five sentences. */
export function proseDocument(rng: SeededRandom): string {
  const a = pick(rng, NAMES);
  const b = pick(rng, NAMES.filter((n) => n !== a));
  const sentences = [
    `${pick(rng, TIMES)} ${a} ${pick(rng, VERBS)} a ${pick(rng, ADJECTIVES)} ${pick(rng, things)} near ${pick(rng, PLACES)}.`,
    `${b} was ${pick(rng, FEELINGS)} because the ${pick(rng, things)} was so ${pick(rng, ADJECTIVES)}.`,
  ];
  const extra = rng.int(3);
  for (let i = 0; i < extra; i++) {
    sentences.push(`${pick(rng, [a, b])} ${pick(rng, VERBS)} the ${pick(rng, ADJECTIVES)} ${pick(rng, things)} at ${pick(rng, PLACES)}.`);
  }
  sentences.push(pick(rng, ENDINGS));
  return sentences.join(' ');
}
