/**
 * Scores of SEI (Search, paper eq. 5): score = f' . t. For one trapdoor,
 *   score = gamma theta (||f - fq||^2 - ||fq||^2 + c(fq)) + gamma (S . X),
 * so a SMALLER score means a NEARER vector and sorting by score reproduces the exact Euclidean
 * ranking (up to float rounding). Scores of different trapdoors are not comparable.
 */
import { DimensionMismatchError } from '../core/errors';
import type { VectorSet } from '../linalg/vectors';
import { dotAt } from '../linalg/vectors';
import type { EncryptedVector, Trapdoor } from './types';

/** f' . t for one encrypted vector. Smaller = nearer. */
export function score(encrypted: EncryptedVector, trapdoor: Trapdoor): number {
  if (encrypted.length !== trapdoor.length) {
    throw new DimensionMismatchError('encrypted vector vs trapdoor', trapdoor.length, encrypted.length);
  }
  return dotAt(encrypted, 0, trapdoor, 0, trapdoor.length);
}

/**
 * Score of the encrypted vector stored at data[offset..offset+t.length) (row-major buffers such
 * as an encrypted VectorSet or an index tree's node array). Hot loop: no checks, the caller
 * guarantees the offset and dimension.
 */
export function scoreAt(data: Float64Array, offset: number, trapdoor: Trapdoor): number {
  return dotAt(data, offset, trapdoor, 0, trapdoor.length);
}

/** Scores of every row of an encrypted set (dimension 2d+2) against one trapdoor. */
export function scoreAll(encrypted: VectorSet, trapdoor: Trapdoor): Float64Array {
  const m = trapdoor.length;
  if (encrypted.d !== m) throw new DimensionMismatchError('encrypted vectors vs trapdoor', m, encrypted.d);
  const out = new Float64Array(encrypted.n);
  for (let i = 0; i < encrypted.n; i++) out[i] = dotAt(encrypted.data, i * m, trapdoor, 0, m);
  return out;
}
