/**
 * Vectors for the tests: inputs built from arrays or at random, and the brute-force distances
 * and nearest centre that the tests compare the library's kernels with.
 */
import { DimensionMismatchError, InvalidInputError } from '../../lib/core/errors';
import { seededRandom } from '../../lib/core/random';
import type { VectorSet } from '../../lib/linalg/vectors';
import { assertDimension, squaredDistanceAt } from '../../lib/linalg/vectors';
import { assertVectorSet } from '../../lib/ml/validation';

/** Independent uniform vectors in [-1, 1)^d. */
export function uniformVectors(n: number, d: number, seed: number): VectorSet {
  const random = seededRandom(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = 2 * random.next() - 1;
  return { n, d, data };
}

/** A vector set over `data` (zeros by default), checking its length. */
export function vectorSet(n: number, d: number, data: Float64Array = new Float64Array(n * d)): VectorSet {
  if (data.length !== n * d) throw new DimensionMismatchError('vector set buffer', n * d, data.length);
  return { n, d, data };
}

/** Builds a VectorSet from arrays, checking every row has the same dimension and finite values. */
export function vectorSetFromRows(rows: ArrayLike<number>[], what = 'vectors'): VectorSet {
  if (rows.length === 0) throw new InvalidInputError(`${what}: at least one vector is required`);
  const d = rows[0].length;
  const data = new Float64Array(rows.length * d);
  rows.forEach((row, i) => {
    if (row.length !== d) throw new DimensionMismatchError(`${what}[${i}]`, d, row.length);
    for (let j = 0; j < d; j++) {
      const v = row[j];
      if (!Number.isFinite(v)) throw new InvalidInputError(`${what}[${i}][${j}] is not a finite number`);
      data[i * d + j] = v;
    }
  });
  return { n: rows.length, d, data };
}

/** Squared Euclidean distance of two vectors of the same length. */
export function squaredDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) {
    const x = a[j] - b[j];
    s += x * x;
  }
  return s;
}

/** Nearest centre of one vector (exact squared distances, lowest index on ties). */
export function nearestCentroid(
  vector: ArrayLike<number>,
  centroids: VectorSet,
): { index: number; squaredDistance: number } {
  assertVectorSet(centroids, 'centroids', 1);
  assertDimension(vector, centroids.d, 'vector');
  assertFinite(vector, 'vector');
  const x = Float64Array.from(vector);
  let index = 0;
  let best = Infinity;
  for (let c = 0; c < centroids.n; c++) {
    const dist = squaredDistanceAt(x, 0, centroids.data, c * centroids.d, centroids.d);
    if (dist < best) {
      best = dist;
      index = c;
    }
  }
  return { index, squaredDistance: best };
}

/** Throws unless every value is finite: NaN or infinity must never reach the math. */
export function assertFinite(values: ArrayLike<number>, what: string): void {
  for (let j = 0; j < values.length; j++) {
    if (!Number.isFinite(values[j])) throw new InvalidInputError(`${what}[${j}] is not a finite number`);
  }
}
