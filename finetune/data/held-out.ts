import { SeededRandom } from '../../runtime/seeded-random.ts';

/**
 * A seeded train / held-out split: the same seed and data give the same split on every run, so a
 * resumed job evaluates on the same examples. At least one example stays on each side when possible.
 */
export function splitHeldOut<T>(items: readonly T[], fraction: number, seed: number): { train: T[]; heldOut: T[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`held-out fraction must be in [0, 1), got ${fraction}`);
  const order = SeededRandom.fromSeed(seed).shuffle(items.map((_, i) => i));
  let count = Math.round(items.length * fraction);
  if (fraction > 0 && items.length >= 2) count = Math.min(Math.max(count, 1), items.length - 1);
  const held = new Set(order.slice(0, count));
  return { train: items.filter((_, i) => !held.has(i)), heldOut: items.filter((_, i) => held.has(i)) };
}
