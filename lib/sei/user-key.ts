/**
 * User keys of SEI with limited key leakage (GenKey, paper section 5.3.1; the form we
 * implement is in docs/sei-math.md). A user draws a random invertible W and sends it to the owner; the
 * owner returns Abar = A W^-1 and U, never M, r, S, pi, theta or X.
 *
 * With 0-based pair sums P[i][s] = M[i][2s] + M[i][2s+1]:
 *   A[i][k] = theta * P[i][pi[k]]                          (k < d)
 *   U[i]    = theta * P[i][pi[d]] + sum_s X[s] * M[i][2s+1]
 * so that f' . (A fq^T + U^T) = theta (||f||^2 - 2 f.fq + c(fq)) + S.X (see index-vector.ts).
 */
import { DimensionMismatchError, InvalidInputError } from '../core/errors';
import { secureRandom } from '../core/random';
import { invertMatrix, multiplyMatrices, randomWellConditionedMatrix } from '../linalg/matrix';
import { assertSeiDimension, pairSums } from './owner-key';
import type { OwnerSecret, UserKey, UserSecret } from './types';
import { encryptedDimension } from './types';

/** The query-side key material before W is applied: A ((2d+2) x d) and U (2d+2). */
export interface QueryKeyMaterial {
  readonly A: Float64Array;
  readonly U: Float64Array;
}

/**
 * A fresh user secret: W with singular values in [0.5, 2] (condition number <= 4), so that
 * Abar = A W^-1 and the trapdoor's W^T Abar^T = A^T lose no precision to W.
 */
export function generateUserSecret(d: number): UserSecret {
  assertSeiDimension(d);
  return { d, W: randomWellConditionedMatrix(d, secureRandom).matrix };
}

/** A and U of the note, computed from the owner secret (owner side only). */
export function queryKeyMaterial(owner: OwnerSecret): QueryKeyMaterial {
  const { d } = owner;
  const m = encryptedDimension(d);
  const slots = d + 1;
  const P = pairSums(owner);
  const A = new Float64Array(m * d);
  const U = new Float64Array(m);
  const normSlot = owner.pi[d];
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < d; k++) A[i * d + k] = owner.theta * P[i * slots + owner.pi[k]];
    let u = owner.theta * P[i * slots + normSlot];
    for (let s = 0; s < slots; s++) u += owner.X[s] * owner.M[i * m + 2 * s + 1];
    U[i] = u;
  }
  return { A, U };
}

/**
 * Owner side of GenKey: Abar = A W^-1 and U for the user who sent W (d x d, row-major).
 * Throws DimensionMismatchError for a W of the wrong size and InvalidInputError for a W that
 * has non-finite entries or is singular / too ill-conditioned to invert accurately.
 */
export function issueUserKey(owner: OwnerSecret, W: ArrayLike<number>): UserKey {
  const { d } = owner;
  const m = encryptedDimension(d);
  if (W.length !== d * d) throw new DimensionMismatchError('user matrix W (d x d entries)', d * d, W.length);
  const w = new Float64Array(d * d);
  for (let i = 0; i < d * d; i++) {
    if (!Number.isFinite(W[i])) throw new InvalidInputError(`user matrix W[${i}] is not a finite number`);
    w[i] = W[i];
  }
  const wInv = invertMatrix(w, d);
  if (wInv === undefined) {
    throw new InvalidInputError('user matrix W is singular or too ill-conditioned; generate a new user secret');
  }
  const { A, U } = queryKeyMaterial(owner);
  return { d, ownerKeyId: owner.keyId, Abar: multiplyMatrices(A, wInv, m, d, d), U };
}
