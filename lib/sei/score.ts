/**
 * Scores of SEI (Search, paper eq. 5): score = f' . t. For one trapdoor,
 *   score = gamma theta (||f - fq||^2 - ||fq||^2 + c(fq)) + gamma (S . X),
 * so a SMALLER score means a NEARER vector and sorting by score reproduces the exact Euclidean
 * ranking (up to float rounding). Scores of different trapdoors are not comparable.
 */
import { DimensionMismatchError, InvalidInputError } from '../core/errors';
import type { VectorSet } from '../linalg/vectors';
import { dotAt } from '../linalg/vectors';
import type { EncryptedVector, Trapdoor } from './types';

/**
 * Largest magnitude of an entry of a trapdoor, or of an encrypted vector a score is computed
 * from. CS1 refuses anything larger (400 for trapdoors, a refused publish or update for stored
 * vectors), which keeps every score finite:
 *
 *   A score is sum_j f'_j t_j over m <= 2 * MAX_SEI_DIMENSION + 2 = 8194 terms. Each product
 *   has |f'_j t_j| <= 1e100 * 1e100 = 1e200, so the exact sum and every exact partial sum lie
 *   within m * 1e200 < 1e204. The float loop rounds each addition by a factor of at most
 *   (1 + 2^-53), so a computed partial sum is within (1 + 2^-53)^m < 1 + 1e-12 of a bound of
 *   1e204: never near Number.MAX_VALUE (1.8e308). So no score is +-Infinity; and since NaN only
 *   comes from a NaN operand, Infinity - Infinity or 0 * Infinity, and every operand is finite,
 *   no score is NaN either. (Checked at the extremes in test/unit/sei-crypto/score-bounds.test.ts.)
 *
 * Real entries are many orders smaller: keys are unit-scale and well-conditioned, so entries
 * are of the order of the squared feature norms, far below 1e20 for any feature scaling.
 */
export const MAX_SCORE_OPERAND = 1e100;

/** Whether `value` may enter a score: a finite number of magnitude at most MAX_SCORE_OPERAND. */
export function isScoreOperand(value: number): boolean {
  return Math.abs(value) <= MAX_SCORE_OPERAND;
}

/**
 * Throws InvalidInputError naming the first entry of `values` that is not a finite number of
 * magnitude at most MAX_SCORE_OPERAND (`what` names the vector, e.g. "trapdoor").
 */
export function assertScoreOperands(values: ArrayLike<number>, what: string): void {
  for (let j = 0; j < values.length; j++) {
    const value = values[j];
    if (isScoreOperand(value)) continue;
    if (!Number.isFinite(value)) throw new InvalidInputError(`${what}[${j}] is not a finite number`);
    throw new InvalidInputError(
      `${what}[${j}] is too large: entries must be at most 1e100 in magnitude, or scores could overflow (real ones are far smaller: check how it was made)`,
    );
  }
}

/**
 * f' . t for one encrypted vector. Smaller = nearer.
 * @internal The scheme's score, stated as a function so the tests check the ranking identities
 * against it (docs/sei-math.md); not called at run time (searches score through
 * index-tree/scoring.ts).
 */
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
 * @internal The scheme's score, stated as a function so the tests check the ranking identities
 * against it (docs/sei-math.md); not called at run time (searches score through
 * index-tree/scoring.ts).
 */
export function scoreAt(data: Float64Array, offset: number, trapdoor: Trapdoor): number {
  return dotAt(data, offset, trapdoor, 0, trapdoor.length);
}

/**
 * Scores of every row of an encrypted set (dimension 2d+2) against one trapdoor.
 * @internal The scheme's score, stated as a function so the tests check the ranking identities
 * against it (docs/sei-math.md); not called at run time (searches score through
 * index-tree/scoring.ts).
 */
export function scoreAll(encrypted: VectorSet, trapdoor: Trapdoor): Float64Array {
  const m = trapdoor.length;
  if (encrypted.d !== m) throw new DimensionMismatchError('encrypted vectors vs trapdoor', m, encrypted.d);
  const out = new Float64Array(encrypted.n);
  for (let i = 0; i < encrypted.n; i++) out[i] = dotAt(encrypted.data, i * m, trapdoor, 0, m);
  return out;
}
