/**
 * Trapdoor generation (GenTrap, paper eq. 4): t = gamma * (fq W^T Abar^T + U), computed by the
 * user from their key (Abar, U) and secret W, without the owner's help.
 *
 * W^T Abar^T = A^T (W cancels), so the generator precomputes that d x (2d+2) product once; a
 * trapdoor is then one vector-matrix product. It is stored transposed, (2d+2) x d = Abar W, so
 * each trapdoor entry is one contiguous dot product with fq.
 *
 * gamma is drawn fresh per call, uniform in [1, 2). It must be positive (it multiplies every
 * score of the query, so a negative one would reverse the ranking). Numerically any moderate
 * range works; [1, 2) keeps the exponent fixed, so trapdoor entries and scores stay at the scale
 * of the unblinded ones while the mantissa carries 52 random bits. A wider range would not buy
 * secrecy: gamma only scales t, and t's direction is a deterministic function of the query, so a
 * repeated query stays linkable whatever gamma's range (see the threat model).
 */
import { DimensionMismatchError, InvalidInputError } from '../core/errors';
import { secureRandom } from '../core/random';
import type { Trapdoor, UserKey, UserSecret } from './types';
import { encryptedDimension } from './types';

export class TrapdoorGenerator {
  /** Feature dimension d. */
  readonly d: number;
  /** Trapdoor dimension 2d+2. */
  readonly m: number;
  /** Key id of the owner secret the user key came from (to match against an index). */
  readonly ownerKeyId: string;
  /** (2d+2) x d, row-major: (W^T Abar^T)^T = Abar W. */
  private readonly queryMatrix: Float64Array;
  private readonly U: Float64Array;

  constructor(key: UserKey, secret: UserSecret) {
    const { d } = key;
    const m = encryptedDimension(d);
    if (secret.d !== d) throw new DimensionMismatchError('user secret for this user key', d, secret.d);
    if (key.Abar.length !== m * d) throw new DimensionMismatchError('user key Abar', m * d, key.Abar.length);
    if (key.U.length !== m) throw new DimensionMismatchError('user key U', m, key.U.length);
    if (secret.W.length !== d * d) throw new DimensionMismatchError('user secret W', d * d, secret.W.length);
    this.d = d;
    this.m = m;
    this.ownerKeyId = key.ownerKeyId;
    this.U = Float64Array.from(key.U);
    // queryMatrix[i][k] = sum_j Abar[i][j] * W[j][k].
    const q = new Float64Array(m * d);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < d; j++) {
        const a = key.Abar[i * d + j];
        const w = j * d;
        for (let k = 0; k < d; k++) q[i * d + k] += a * secret.W[w + k];
      }
    }
    for (let i = 0; i < m * d; i++) {
      if (!Number.isFinite(q[i])) throw new InvalidInputError('user key or user secret contains non-finite numbers');
    }
    this.queryMatrix = q;
  }

  /**
   * The trapdoor of query vector fq (d finite entries): gamma * (fq W^T Abar^T + U), with gamma
   * fresh from the secure generator unless given (tests, reproducing the paper's example).
   */
  trapdoor(fq: ArrayLike<number>, gamma: number = randomGamma()): Trapdoor {
    const { d, m, queryMatrix, U } = this;
    if (fq.length !== d) throw new DimensionMismatchError('query vector', d, fq.length);
    if (!Number.isFinite(gamma) || gamma <= 0) throw new InvalidInputError('gamma must be a finite number > 0');
    const q = new Float64Array(d);
    for (let k = 0; k < d; k++) {
      const v = fq[k];
      if (!Number.isFinite(v)) throw new InvalidInputError(`query vector[${k}] is not a finite number`);
      q[k] = v;
    }
    const t = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const o = i * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let k = 0;
      for (; k + 3 < d; k += 4) {
        s0 += queryMatrix[o + k] * q[k];
        s1 += queryMatrix[o + k + 1] * q[k + 1];
        s2 += queryMatrix[o + k + 2] * q[k + 2];
        s3 += queryMatrix[o + k + 3] * q[k + 3];
      }
      for (; k < d; k++) s0 += queryMatrix[o + k] * q[k];
      t[i] = gamma * (s0 + s1 + s2 + s3 + U[i]);
    }
    return t;
  }
}

/** gamma uniform in [1, 2) from the secure generator (see the module comment). */
export function randomGamma(): number {
  return 1 + secureRandom.next();
}
