/**
 * The paper's baseline "kNN-CBIR" (footnote 2): the classic ASPE secure kNN of Wong et al.
 * (SIGMOD 2009) with a random split vector S and two invertible matrices M1, M2, and a linear
 * scan at search time. Used only for comparison in benchmarks.
 *
 *   index:  p^ = (p, -||p||^2 / 2), split by S into (pa, pb), encrypted as (M1^T pa, M2^T pb)
 *   query:  q^ = rho (q, 1), split the other way,      encrypted as (M1^-1 qa, M2^-1 qb)
 *   p'.q' = p^.q^ = rho (p.q - ||p||^2/2) = rho (||q||^2 - ||p - q||^2) / 2: larger is nearer.
 *
 * Every user of this scheme holds the whole key (the key leakage SEI avoids).
 */
import { InvalidInputError } from '../../../lib/core/errors';
import { secureRandom, type RandomSource } from '../../../lib/core/random';
import { SmallestK } from '../../../lib/core/heaps';
import { randomWellConditionedMatrix } from '../../../lib/linalg/matrix';
import { dotAt, type VectorSet } from '../../../lib/linalg/vectors';

export interface KnnCbirKey {
  readonly d: number;
  /** M1 and M2, (d+1) x (d+1) row-major (index rows are multiplied by them). */
  readonly m1: Float64Array;
  readonly m2: Float64Array;
  /** M1^-1 and M2^-1. */
  readonly m1inv: Float64Array;
  readonly m2inv: Float64Array;
  readonly split: Uint8Array;
}

export function generateKnnCbirKey(d: number, random: RandomSource = secureRandom): KnnCbirKey {
  if (!Number.isInteger(d) || d < 1) throw new InvalidInputError('dimension must be a positive integer');
  const size = d + 1;
  // Well conditioned, so float rounding cannot reorder close candidates.
  const m1 = randomWellConditionedMatrix(size, random);
  const m2 = randomWellConditionedMatrix(size, random);
  const split = new Uint8Array(size);
  for (let j = 0; j < size; j++) split[j] = random.int(2);
  return {
    d,
    m1: m1.matrix,
    m2: m2.matrix,
    m1inv: m1.inverse,
    m2inv: m2.inverse,
    split,
  };
}

/** out[off..off+size) = v * M (row vector times row-major matrix). */
function multiplyInto(v: Float64Array, matrix: Float64Array, size: number, out: Float64Array, off: number): void {
  for (let j = 0; j < size; j++) out[off + j] = 0;
  for (let i = 0; i < size; i++) {
    const vi = v[i];
    if (vi === 0) continue;
    const row = i * size;
    for (let j = 0; j < size; j++) out[off + j] += vi * matrix[row + j];
  }
}

/**
 * Splits `extended` into (a, b): where `share` is 1 the two halves add up to the value with a
 * random split; elsewhere both equal the value.
 */
function splitShares(extended: Float64Array, split: Uint8Array, share: 0 | 1, random: RandomSource) {
  const a = new Float64Array(extended.length);
  const b = new Float64Array(extended.length);
  for (let j = 0; j < extended.length; j++) {
    if (split[j] === share) {
      const noise = random.gaussian() * (Math.abs(extended[j]) + 1);
      a[j] = extended[j] / 2 + noise;
      b[j] = extended[j] / 2 - noise;
    } else {
      a[j] = extended[j];
      b[j] = extended[j];
    }
  }
  return { a, b };
}

/** Row form of (M1^T pa, M2^T pb): (pa M1, pb M2), so that p'.q' = pa.qa + pb.qb. */
export function encryptKnnCbirIndex(key: KnnCbirKey, vectors: VectorSet, random: RandomSource = secureRandom): VectorSet {
  const size = key.d + 1;
  const out = new Float64Array(vectors.n * 2 * size);
  const extended = new Float64Array(size);
  for (let i = 0; i < vectors.n; i++) {
    let norm = 0;
    for (let j = 0; j < key.d; j++) {
      const v = vectors.data[i * key.d + j];
      extended[j] = v;
      norm += v * v;
    }
    extended[key.d] = -norm / 2;
    const { a, b } = splitShares(extended, key.split, 1, random);
    multiplyInto(a, key.m1, size, out, i * 2 * size);
    multiplyInto(b, key.m2, size, out, i * 2 * size + size);
  }
  return { n: vectors.n, d: 2 * size, data: out };
}

export function knnCbirTrapdoor(key: KnnCbirKey, query: ArrayLike<number>, random: RandomSource = secureRandom): Float64Array {
  const size = key.d + 1;
  const rho = 1 + random.next();
  const extended = new Float64Array(size);
  for (let j = 0; j < key.d; j++) extended[j] = rho * query[j];
  extended[key.d] = rho;
  const { a, b } = splitShares(extended, key.split, 0, random);
  const out = new Float64Array(2 * size);
  // (M1^-1 qa, M2^-1 qb) as column products.
  for (let j = 0; j < size; j++) {
    let sa = 0;
    let sb = 0;
    for (let i = 0; i < size; i++) {
      sa += key.m1inv[j * size + i] * a[i];
      sb += key.m2inv[j * size + i] * b[i];
    }
    out[j] = sa;
    out[size + j] = sb;
  }
  return out;
}

/** Linear scan: the k rows with the largest p'.q' (nearest). */
export function knnCbirSearch(encrypted: VectorSet, trapdoor: Float64Array, k: number): number[] {
  const best = new SmallestK(Math.min(k, encrypted.n));
  const m = encrypted.d;
  for (let i = 0; i < encrypted.n; i++) {
    const negated = -dotAt(encrypted.data, i * m, trapdoor, 0, m);
    if (negated < best.threshold) best.offer(negated, i);
  }
  return best.sorted().map((e) => e.value);
}
