import type { SeededRandom } from '../../../runtime/seeded-random.ts';

/**
 * The working behind one addition or subtraction, said in one of several ways. Self-consistency
 * needs what the paper calls diverse reasoning paths: if every rationale computes `44 - 16` in one
 * step, sampled chains repeat the same slip and a vote has nothing to correct. Splitting the second
 * number into tens and ones, in either order, also turns one hard step into two easy ones (a
 * multiple of ten moves only the tens digit).
 */
type Op = '+' | '-';

const apply = (x: number, op: Op, y: number) => (op === '+' ? x + y : x - y);

/** `x op y = z`, directly or through its tens and ones; every form ends with `= z`. */
export function arithmeticSteps(rng: SeededRandom, x: number, op: Op, y: number): string {
  const tens = y - (y % 10);
  const ones = y % 10;
  const style = rng.int(3);
  // A one-digit or round second number has nothing to split.
  if (style === 0 || tens === 0 || ones === 0) return `${x} ${op} ${y} = ${apply(x, op, y)}`;
  const [first, second] = style === 1 ? [tens, ones] : [ones, tens];
  const middle = apply(x, op, first);
  return `${x} ${op} ${y} = ${x} ${op} ${first} ${op} ${second}; ${x} ${op} ${first} = ${middle}; ${middle} ${op} ${second} = ${apply(middle, op, second)}`;
}
