import type { T5Config } from '../../runtime/checkpoint/t5-config.ts';
import { expectedT5WeightShapes, type T5Weights } from '../../runtime/checkpoint/t5-weights.ts';
import { SeededRandom } from '../../runtime/seeded-random.ts';

/**
 * Seeded random T5 weights with the shapes a config implies: layer norms at 1, everything else
 * normal with a small standard deviation. For tests and benchmarks that must not depend on a download.
 */
export function randomT5Weights(config: T5Config, seed: number, std = 0.05): T5Weights {
  const rng = SeededRandom.fromSeed(seed);
  const weights: T5Weights = new Map();
  for (const [name, shape] of expectedT5WeightShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.includes('layer_norm')) data.fill(1);
    else for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    weights.set(name, { shape, data });
  }
  return weights;
}
