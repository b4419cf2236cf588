import { describe, expect, it } from 'vitest';
import { lengthBuckets } from '../../runtime/engine/length-buckets.ts';

describe('length buckets for the encoder batch', () => {
  const lengths = [200, 12, 15, 256, 9, 64, 70, 11, 240, 66];

  it('puts every prompt in exactly one group, and no group pads past the ratio', () => {
    const groups = lengthBuckets(lengths, 1.25);
    expect(groups.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    for (const group of groups) {
      const longest = Math.max(...group.map((i) => lengths[i]));
      const real = group.reduce((sum, i) => sum + lengths[i], 0);
      expect(longest * group.length).toBeLessThanOrEqual(1.25 * real);
    }
  });

  it('keeps a long prompt away from short ones, and equal lengths together', () => {
    const groups = lengthBuckets(lengths, 1.25);
    const withLongest = groups.find((g) => g.includes(3))!;
    expect(withLongest.every((i) => lengths[i] >= 200)).toBe(true);
    expect(lengthBuckets([64, 64, 64, 64])).toEqual([[0, 1, 2, 3]]);
  });
});
