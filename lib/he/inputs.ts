/**
 * Checks on the plaintext integers a provider or client encrypts. Anything out of range would
 * not fail later: it would decrypt to a wrong distance, so it is refused here.
 */
import { DimensionMismatchError, InvalidInputError } from '../core/errors';
import type { VectorSet } from '../linalg/vectors';

/** Coordinates must be integers with |x| <= maxAbs: anything else would decrypt to a wrong distance. */
export function assertIntegerCoordinate(value: number, maxAbs: number, what: string): void {
  if (!Number.isInteger(value) || Math.abs(value) > maxAbs) {
    throw new InvalidInputError(`${what} must be an integer in [-${maxAbs}, ${maxAbs}] (scale embeddings by 10^3 and round)`);
  }
}

export function assertVectorSet(vectors: VectorSet, d: number): void {
  if (vectors === null || typeof vectors !== 'object' || !(vectors.data instanceof Float64Array)) {
    throw new InvalidInputError('vectors: a VectorSet is required');
  }
  if (vectors.d !== d) throw new DimensionMismatchError('vectors', d, vectors.d);
  if (vectors.data.length !== vectors.n * vectors.d) {
    throw new DimensionMismatchError('vector set buffer', vectors.n * vectors.d, vectors.data.length);
  }
}

/** A query: exactly d integer coordinates with |q_j| <= maxAbs. */
export function assertQueryVector(query: ArrayLike<number>, d: number, maxAbs: number): void {
  if (query === null || typeof query !== 'object' || query.length !== d) {
    throw new InvalidInputError(`query must have exactly d = ${d} coordinates`);
  }
  for (let j = 0; j < d; j++) assertIntegerCoordinate(query[j], maxAbs, `query[${j}]`);
}
