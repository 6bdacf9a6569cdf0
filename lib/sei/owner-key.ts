/**
 * The owner's secret of SEI (GenKey, paper section 5.3.1; the form we
 * implement is in docs/sei-math.md): the invertible matrix M and its inverse, r, S, the permutation pi,
 * theta and X. Generation draws everything from {@link secureRandom}; {@link ownerSecretFromValues}
 * builds a secret from explicit values (the paper's toy example, decoded files) and validates it.
 *
 */
import { DimensionMismatchError, InvalidInputError, InvalidParametersError } from '../core/errors';
import type { RandomSource } from '../core/random';
import { randomPermutation, secureRandom } from '../core/random';
import type { OwnerSecret } from './types';
import { encryptedDimension } from './types';
import { inverseProblem, invertMatrix, randomWellConditionedMatrix } from '../linalg/matrix';
import { arrangeForScoreReduction } from './score-reduction';

/** Largest feature dimension the key code and the binary formats accept (M is then 8194^2). */
export const MAX_SEI_DIMENSION = 4096;

/** Key ids are lowercase hex (they end up in file names, S3 keys and HTTP headers). */
const KEY_ID_PATTERN = /^[0-9a-f]{16,64}$/;

/** Bytes of randomness in a generated key id (128 bits: collisions are not a concern). */
const KEY_ID_BYTES = 16;

export interface GenerateOwnerSecretOptions {
  /** Use this key id instead of a random one (must be 16-64 lowercase hex characters). */
  readonly keyId?: string;
}

/** Explicit values for {@link ownerSecretFromValues}. `pi` is 0-based. */
export interface OwnerSecretValues {
  readonly d: number;
  readonly M: ArrayLike<number>;
  /** If given it is checked against M (M * Minv ~ I), else computed from M. */
  readonly Minv?: ArrayLike<number>;
  readonly r: ArrayLike<number>;
  readonly S: ArrayLike<number>;
  readonly pi: ArrayLike<number>;
  readonly theta: number;
  readonly X: ArrayLike<number>;
  /** Random if omitted. */
  readonly keyId?: string;
}

/**
 * Generates a fresh owner secret for feature dimension d.
 *
 * M = Q1 * D * Q2 with Q1, Q2 Haar-random orthogonal and D diagonal, log-uniform in [0.5, 2]:
 * every matrix has such an SVD, and pinning the singular values to [0.5, 2] bounds the condition
 * number by 4. That matters because a score is a dot product whose terms are far larger than the
 * differences between scores (the constants r, S, X and ||q||^2 cancel only in the comparison),
 * and the encrypted ranking must equal the plaintext Euclidean ranking up to float rounding; an
 * arbitrary random matrix can be badly conditioned and would amplify that rounding. Minv is
 * Q2^T D^-1 Q1^T, exact up to rounding without a general inversion.
 *
 * r, S, X are uniform in [-1, 1) and theta in [1, 2): unit scale keeps every term of the score
 * comparable to the feature values themselves (no loss of precision to large offsets).
 */
export function generateOwnerSecret(d: number, options: GenerateOwnerSecretOptions = {}): OwnerSecret {
  assertSeiDimension(d);
  const m = encryptedDimension(d);
  const random = secureRandom;
  const { matrix: M, inverse: Minv } = randomWellConditionedMatrix(m, random);

  // The coordinate order of the encrypted space is free; choose one that lets searches score
  // with half the coordinates (score-reduction.ts).
  return arrangeForScoreReduction({
    d,
    keyId: options.keyId === undefined ? randomKeyId() : checkedKeyId(options.keyId, 'keyId'),
    M,
    Minv,
    r: uniformVector(d + 1, random),
    S: uniformVector(d + 1, random),
    pi: randomNonIdentityPermutation(d + 1, random),
    theta: 1 + random.next(),
    X: uniformVector(d + 1, random),
  });
}

/**
 * Builds an owner secret from explicit values, validating every dimension, finiteness, theta > 0,
 * that pi is a permutation, and that M is invertible and not too ill-conditioned. A supplied Minv
 * is only accepted if M * Minv ~ I. Throws InvalidParametersError / DimensionMismatchError.
 * @internal Builds the tests' keys and the paper's toy example from chosen values; generated and
 * decoded keys do not pass through it.
 */
export function ownerSecretFromValues(values: OwnerSecretValues): OwnerSecret {
  const { d } = values;
  assertSeiDimension(d);
  const m = encryptedDimension(d);
  const M = checkedVector(values.M, m * m, 'owner secret M');
  const r = checkedVector(values.r, d + 1, 'owner secret r');
  const S = checkedVector(values.S, d + 1, 'owner secret S');
  const X = checkedVector(values.X, d + 1, 'owner secret X');
  if (!Number.isFinite(values.theta) || values.theta <= 0) {
    throw new InvalidParametersError('owner secret theta must be a finite number > 0');
  }
  const pi = checkedPermutation(values.pi, d + 1);
  if (pi === undefined) {
    throw new InvalidParametersError(`owner secret pi must be a permutation of 0..${d} (each value exactly once)`);
  }
  let Minv: Float64Array;
  if (values.Minv === undefined) {
    const inv = invertMatrix(M, m);
    if (inv === undefined) {
      throw new InvalidParametersError('owner secret M is singular or too ill-conditioned; generate a new key');
    }
    Minv = inv;
  } else {
    Minv = checkedVector(values.Minv, m * m, 'owner secret Minv');
    const problem = inverseProblem(M, Minv, m);
    if (problem !== undefined) throw new InvalidParametersError(`owner secret Minv ${problem}`);
  }
  return {
    d,
    keyId: values.keyId === undefined ? randomKeyId() : checkedKeyId(values.keyId, 'keyId'),
    M,
    Minv,
    r,
    S,
    pi,
    theta: values.theta,
    X,
  };
}

/** Throws InvalidParametersError unless d is an integer in [1, MAX_SEI_DIMENSION]. */
export function assertSeiDimension(d: number): void {
  if (!Number.isInteger(d) || d < 1 || d > MAX_SEI_DIMENSION) {
    throw new InvalidParametersError(`feature dimension d must be an integer in [1, ${MAX_SEI_DIMENSION}]`);
  }
}

export function isValidKeyId(keyId: string): boolean {
  return KEY_ID_PATTERN.test(keyId);
}

/** A random 128-bit key id as 32 lowercase hex characters. */
export function randomKeyId(random: RandomSource = secureRandom): string {
  let out = '';
  for (let i = 0; i < KEY_ID_BYTES; i++) out += random.int(256).toString(16).padStart(2, '0');
  return out;
}

/**
 * Pair sums P[i][s] = M[i][2s] + M[i][2s+1] ((2d+2) x (d+1), row-major; the note's M' before
 * the permutation is applied). Column s of P is M times the indicator of slot s's pair, which is
 * what makes M^-1 A pick out exactly the index vector's slot s plus its S[s].
 */
export function pairSums(owner: OwnerSecret): Float64Array {
  const m = encryptedDimension(owner.d);
  const slots = owner.d + 1;
  const P = new Float64Array(m * slots);
  for (let i = 0; i < m; i++) {
    for (let s = 0; s < slots; s++) P[i * slots + s] = owner.M[i * m + 2 * s] + owner.M[i * m + 2 * s + 1];
  }
  return P;
}

/** Uniform random permutation of 0..n-1; for n >= 3 never the identity (redrawn if it is). */
function randomNonIdentityPermutation(n: number, random: RandomSource): Uint32Array {
  for (;;) {
    const p = randomPermutation(n, random);
    if (n < 3 || p.some((v, i) => v !== i)) return p;
  }
}

function uniformVector(n: number, random: RandomSource): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = 2 * random.next() - 1;
  return out;
}

/** The permutation as a Uint32Array, or undefined if `values` is not a permutation of 0..n-1. */
export function checkedPermutation(values: ArrayLike<number>, n: number): Uint32Array | undefined {
  if (values.length !== n) return undefined;
  const seen = new Uint8Array(n);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v >= n || seen[v] === 1) return undefined;
    seen[v] = 1;
    out[i] = v;
  }
  return out;
}

function checkedVector(values: ArrayLike<number>, length: number, what: string): Float64Array {
  if (values.length !== length) throw new DimensionMismatchError(what, length, values.length);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new InvalidParametersError(`${what}[${i}] is not a finite number`);
    out[i] = v;
  }
  return out;
}

function checkedKeyId(keyId: string, what: string): string {
  if (!isValidKeyId(keyId)) throw new InvalidInputError(`${what} must be 16-64 lowercase hex characters`);
  return keyId;
}
