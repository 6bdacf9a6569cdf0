/**
 * Encryption of index vectors (GenIndex step 1, paper eq. 2-3; the form we
 * implement is in docs/sei-math.md), 0-based:
 *   ft[pi[k]] = r[k] - 2 f[k] (k < d),  ft[pi[d]] = r[d] + ||f||^2
 *   fh[2s] = ft[s],  fh[2s+1] = S[s]
 *   f' = fh M^-1
 * Image feature vectors and index-tree node vectors (cluster centres) are encrypted alike.
 *
 * Since fh is affine in (f, ||f||^2), f' = c0 + f G + ||f||^2 h with G[k] = -2 Minv[2 pi[k]],
 * h = Minv[2 pi[d]] and c0 collecting r and S. {@link IndexEncryptor} precomputes G, h, c0 once,
 * which halves the work per vector (d (2d+2) instead of (2d+2)^2 multiply-adds) and lets the
 * batch path run as plain loops over one Float64Array.
 */
import { DimensionMismatchError, InvalidInputError } from '../core/errors';
import type { VectorSet } from '../linalg/vectors';
import type { EncryptedVector, OwnerSecret } from './types';
import { encryptedDimension } from './types';

/**
 * The paper's fhat for one feature vector (2d+2 entries): the permuted, expanded plaintext before
 * multiplication by M^-1. Exposed for tests and for explaining the scheme; encryption uses the
 * equivalent precomputed form.
 * @internal The paper's fhat, checked by the tests against the toy example and the precomputed
 * form; not called at run time.
 */
export function expandIndexVector(owner: OwnerSecret, f: ArrayLike<number>): Float64Array {
  const { d } = owner;
  checkFeatureVector(f, d, 'feature vector');
  const fh = new Float64Array(encryptedDimension(d));
  let norm = 0;
  for (let k = 0; k < d; k++) {
    fh[2 * owner.pi[k]] = owner.r[k] - 2 * f[k];
    norm += f[k] * f[k];
  }
  fh[2 * owner.pi[d]] = owner.r[d] + norm;
  for (let s = 0; s <= d; s++) fh[2 * s + 1] = owner.S[s];
  return fh;
}

/** Precomputed affine form of f -> f' for one owner secret. Reuse it for many vectors. */
export class IndexEncryptor {
  /** Feature dimension d. */
  readonly d: number;
  /** Encrypted dimension 2d+2. */
  readonly m: number;
  /** m x d (G transposed): entry [j][k] = -2 Minv[2 pi[k]][j], so output j is one dot product. */
  private readonly GT: Float64Array;
  /** Row of Minv multiplying ||f||^2. */
  private readonly h: Float64Array;
  /** Constant part: sum_s S[s] Minv[2s+1] + sum_k r[k] Minv[2 pi[k]]. */
  private readonly c0: Float64Array;

  constructor(owner: OwnerSecret) {
    const { d, Minv, pi } = owner;
    const m = encryptedDimension(d);
    this.d = d;
    this.m = m;
    this.GT = new Float64Array(m * d);
    this.h = Minv.slice(2 * pi[d] * m, (2 * pi[d] + 1) * m);
    this.c0 = new Float64Array(m);
    for (let k = 0; k < d; k++) {
      const src = 2 * pi[k] * m;
      for (let j = 0; j < m; j++) this.GT[j * d + k] = -2 * Minv[src + j];
    }
    for (let k = 0; k <= d; k++) {
      const rowS = (2 * k + 1) * m;
      const rowR = 2 * pi[k] * m;
      const sk = owner.S[k];
      const rk = owner.r[k];
      for (let j = 0; j < m; j++) this.c0[j] += sk * Minv[rowS + j] + rk * Minv[rowR + j];
    }
  }

  /** Encrypts one feature vector (d entries, finite) to f' (2d+2 entries). */
  encrypt(f: ArrayLike<number>): EncryptedVector {
    checkFeatureVector(f, this.d, 'feature vector');
    const src = Float64Array.from(f);
    const out = new Float64Array(this.m);
    this.encryptInto(src, 0, out, 0);
    return out;
  }

  /**
   * Encrypts every row of `vectors` (dimension d) into a new set of dimension 2d+2. Throws
   * DimensionMismatchError / InvalidInputError (naming the row) before any output is returned.
   * The output takes 8 (2d+2) bytes per vector (2 GB for 10^6 vectors at d = 128): at that scale
   * encrypt in chunks, passing `{ n: k, d, data: data.subarray(...) }` views (no copy).
   */
  encryptAll(vectors: VectorSet): VectorSet {
    const { d, m } = this;
    if (vectors.d !== d) throw new DimensionMismatchError('feature vectors', d, vectors.d);
    const { n, data } = vectors;
    if (data.length !== n * d) throw new DimensionMismatchError('feature vector buffer', n * d, data.length);
    for (let i = 0; i < n * d; i++) {
      if (!Number.isFinite(data[i])) {
        const rowIndex = Math.floor(i / d);
        throw new InvalidInputError(`feature vector ${rowIndex}, entry ${i - rowIndex * d} is not a finite number`);
      }
    }
    const out = new Float64Array(n * m);
    let i = 0;
    for (; i + 3 < n; i += 4) this.encryptFourInto(data, i * d, out, i * m);
    for (; i < n; i++) this.encryptInto(data, i * d, out, i * m);
    return { n, d: m, data: out };
  }

  /** out[outOff..outOff+m) = c0 + ||f||^2 h + f G for f = src[srcOff..srcOff+d). No checks. */
  private encryptInto(src: Float64Array, srcOff: number, out: Float64Array, outOff: number): void {
    const { d, m, GT, h, c0 } = this;
    const norm = squaredNormAt(src, srcOff, d);
    for (let j = 0; j < m; j++) {
      const g = j * d;
      let s = 0;
      for (let k = 0; k < d; k++) s += GT[g + k] * src[srcOff + k];
      out[outOff + j] = c0[j] + norm * h[j] + s;
    }
  }

  /**
   * Four consecutive vectors at once: each GT entry is loaded once for four products, which
   * roughly triples throughput over one vector at a time. Per vector the arithmetic (and so the
   * result, bit for bit) is the same as {@link encryptInto}.
   */
  private encryptFourInto(src: Float64Array, srcOff: number, out: Float64Array, outOff: number): void {
    const { d, m, GT, h, c0 } = this;
    const a0 = srcOff;
    const a1 = a0 + d;
    const a2 = a1 + d;
    const a3 = a2 + d;
    const n0 = squaredNormAt(src, a0, d);
    const n1 = squaredNormAt(src, a1, d);
    const n2 = squaredNormAt(src, a2, d);
    const n3 = squaredNormAt(src, a3, d);
    for (let j = 0; j < m; j++) {
      const g = j * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < d; k++) {
        const x = GT[g + k];
        s0 += x * src[a0 + k];
        s1 += x * src[a1 + k];
        s2 += x * src[a2 + k];
        s3 += x * src[a3 + k];
      }
      const base = c0[j];
      const hj = h[j];
      const o = outOff + j;
      out[o] = base + n0 * hj + s0;
      out[o + m] = base + n1 * hj + s1;
      out[o + 2 * m] = base + n2 * hj + s2;
      out[o + 3 * m] = base + n3 * hj + s3;
    }
  }
}

function squaredNormAt(src: Float64Array, offset: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) {
    const v = src[offset + k];
    s += v * v;
  }
  return s;
}

// Owner secrets are immutable values: the precomputation is cached per secret object.
const encryptors = new WeakMap<OwnerSecret, IndexEncryptor>();

/** The (cached) {@link IndexEncryptor} of an owner secret. */
export function indexEncryptor(owner: OwnerSecret): IndexEncryptor {
  let encryptor = encryptors.get(owner);
  if (encryptor === undefined) {
    encryptor = new IndexEncryptor(owner);
    encryptors.set(owner, encryptor);
  }
  return encryptor;
}

/** f' = fh M^-1 for one feature vector (d finite entries) -> 2d+2 entries. */
export function encryptIndexVector(owner: OwnerSecret, f: ArrayLike<number>): EncryptedVector {
  return indexEncryptor(owner).encrypt(f);
}

/** Encrypts a whole set (dimension d) to a row-major set of dimension 2d+2. */
export function encryptIndexVectors(owner: OwnerSecret, vectors: VectorSet): VectorSet {
  return indexEncryptor(owner).encryptAll(vectors);
}

function checkFeatureVector(f: ArrayLike<number>, d: number, what: string): void {
  if (f.length !== d) throw new DimensionMismatchError(what, d, f.length);
  for (let k = 0; k < d; k++) {
    if (!Number.isFinite(f[k])) throw new InvalidInputError(`${what}[${k}] is not a finite number`);
  }
}
