/**
 * Vectors the tests build their inputs from.
 */
import { seededRandom } from '../../lib/core/random';
import type { VectorSet } from '../../lib/linalg/vectors';

/** Independent uniform vectors in [-1, 1)^d. */
export function uniformVectors(n: number, d: number, seed: number): VectorSet {
  const random = seededRandom(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = 2 * random.next() - 1;
  return { n, d, data };
}
