/** Key generation, explicit keys, user keys, trapdoor and index-vector input validation. */
import { describe, expect, it } from 'vitest';
import {
  DimensionMismatchError,
  InvalidInputError,
  InvalidParametersError,
} from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import {
  IndexEncryptor,
  encryptIndexVector,
  encryptIndexVectors,
  expandIndexVector,
} from '../../../lib/sei/index-vector';
import { invertMatrix, multiplyMatrices, randomOrthogonalMatrix, randomWellConditionedMatrix } from '../../../lib/linalg/matrix';
import { generateOwnerSecret, isValidKeyId, ownerSecretFromValues, randomKeyId } from '../../../lib/sei/owner-key';
import { TrapdoorGenerator, randomGamma } from '../../../lib/sei/trapdoor';
import { encryptedDimension } from '../../../lib/sei/types';
import { generateUserSecret, issueUserKey, queryKeyMaterial } from '../../../lib/sei/user-key';

function maxIdentityResidual(a: Float64Array, b: Float64Array, n: number): number {
  const p = multiplyMatrices(a, b, n, n, n);
  let max = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) max = Math.max(max, Math.abs(p[i * n + j] - (i === j ? 1 : 0)));
  return max;
}

/** Largest / smallest singular value via the eigenvalues of A^T A (small n only). */
function singularValueRange(a: Float64Array, n: number): { min: number; max: number } {
  // Power iteration on A^T A for the largest, on (A^T A)^-1 for the smallest.
  const ata = multiplyMatrices(transpose(a, n), a, n, n, n);
  const inv = invertMatrix(ata, n);
  if (inv === undefined) throw new Error('singular');
  return { max: Math.sqrt(powerIteration(ata, n)), min: 1 / Math.sqrt(powerIteration(inv, n)) };
}

function transpose(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j * n + i] = a[i * n + j];
  return out;
}

function powerIteration(a: Float64Array, n: number): number {
  let v = new Float64Array(n).fill(1);
  let lambda = 0;
  for (let it = 0; it < 2000; it++) {
    const w = multiplyMatrices(a, v, n, n, 1);
    let norm = 0;
    for (const x of w) norm += x * x;
    norm = Math.sqrt(norm);
    lambda = norm;
    v = w.map((x) => x / norm);
  }
  return lambda;
}

describe('owner secret generation', () => {
  it('produces consistent, well-conditioned, fresh secrets', () => {
    const d = 6;
    const m = encryptedDimension(d);
    const a = generateOwnerSecret(d);
    const b = generateOwnerSecret(d);
    expect(a.M.length).toBe(m * m);
    expect(a.Minv.length).toBe(m * m);
    expect(a.r.length).toBe(d + 1);
    expect(a.S.length).toBe(d + 1);
    expect(a.X.length).toBe(d + 1);
    expect(a.pi.length).toBe(d + 1);
    expect(Array.from(a.pi).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(a.theta).toBeGreaterThan(0);
    expect(isValidKeyId(a.keyId)).toBe(true);
    expect(a.keyId).not.toBe(b.keyId);
    expect(a.M[0]).not.toBe(b.M[0]);
    expect(maxIdentityResidual(a.M, a.Minv, m)).toBeLessThan(1e-12);
    const { min, max } = singularValueRange(a.M, m);
    expect(min).toBeGreaterThanOrEqual(0.5 - 1e-9);
    expect(max).toBeLessThanOrEqual(2 + 1e-9);
  });

  it('never returns the identity permutation for d >= 2', () => {
    // d = 2: 3! = 6 permutations, a uniform draw is the identity 1/6 of the time.
    for (let trial = 0; trial < 60; trial++) {
      const { pi } = generateOwnerSecret(2);
      expect(Array.from(pi)).not.toEqual([0, 1, 2]);
    }
  });

  it('draws pi uniformly over the non-identity permutations (d = 2)', () => {
    const counts = new Map<string, number>();
    const trials = 500;
    for (let trial = 0; trial < trials; trial++) {
      const key = Array.from(generateOwnerSecret(2).pi).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(5);
    // Each of 5 outcomes has mean 100, sd ~ 9: 50..150 fails with probability < 1e-7.
    for (const c of counts.values()) {
      expect(c).toBeGreaterThan(50);
      expect(c).toBeLessThan(150);
    }
  });

  it('accepts an explicit key id and rejects bad dimensions and key ids', () => {
    expect(generateOwnerSecret(1, { keyId: '0123456789abcdef' }).keyId).toBe('0123456789abcdef');
    expect(() => generateOwnerSecret(1, { keyId: 'NOT-HEX' })).toThrow(InvalidInputError);
    for (const d of [0, -1, 1.5, Number.NaN, 5000]) {
      expect(() => generateOwnerSecret(d)).toThrow(InvalidParametersError);
    }
  });

  it('random orthogonal matrices are orthogonal and random key ids are 32 hex chars', () => {
    const q = randomOrthogonalMatrix(9);
    expect(maxIdentityResidual(q, transpose(q, 9), 9)).toBeLessThan(1e-12);
    const { matrix, inverse } = randomWellConditionedMatrix(9);
    expect(maxIdentityResidual(matrix, inverse, 9)).toBeLessThan(1e-12);
    expect(randomKeyId()).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('ownerSecretFromValues', () => {
  const d = 2;
  const m = 6;
  const random = seededRandom(3);
  const base = () => {
    const { matrix } = randomWellConditionedMatrix(m);
    return { d, M: matrix, r: [1, 2, 3], S: [4, 5, 6], pi: [2, 0, 1], theta: 2, X: [1, 1, 1] };
  };

  it('computes Minv and keeps the given values', () => {
    const owner = ownerSecretFromValues(base());
    expect(maxIdentityResidual(owner.M, owner.Minv, m)).toBeLessThan(1e-10);
    expect(Array.from(owner.pi)).toEqual([2, 0, 1]);
  });

  it('rejects wrong sizes, non-finite values, bad theta, bad pi, singular M, wrong Minv', () => {
    const v = base();
    expect(() => ownerSecretFromValues({ ...v, M: v.M.slice(1) })).toThrow(DimensionMismatchError);
    expect(() => ownerSecretFromValues({ ...v, r: [1, 2] })).toThrow(DimensionMismatchError);
    expect(() => ownerSecretFromValues({ ...v, S: [1, Number.NaN, 3] })).toThrow(InvalidParametersError);
    expect(() => ownerSecretFromValues({ ...v, X: [1, Infinity, 3] })).toThrow(InvalidParametersError);
    for (const theta of [0, -1, Number.NaN, Infinity]) {
      expect(() => ownerSecretFromValues({ ...v, theta })).toThrow(InvalidParametersError);
    }
    for (const pi of [[0, 0, 1], [0, 1, 3], [0, 1], [0, 1, 2, 3], [0, 1.5, 2], [-1, 0, 1]]) {
      expect(() => ownerSecretFromValues({ ...v, pi })).toThrow(InvalidParametersError);
    }
    const singular = Float64Array.from(v.M);
    for (let j = 0; j < m; j++) singular[m + j] = 2 * singular[j]; // row 1 = 2 * row 0
    expect(() => ownerSecretFromValues({ ...v, M: singular })).toThrow(/singular/);
    const nearlySingular = Float64Array.from(v.M);
    for (let j = 0; j < m; j++) nearlySingular[m + j] = nearlySingular[j] * (1 + 1e-13 * random.next());
    expect(() => ownerSecretFromValues({ ...v, M: nearlySingular })).toThrow(InvalidParametersError);
    const good = ownerSecretFromValues(v);
    expect(ownerSecretFromValues({ ...v, Minv: good.Minv }).Minv).toEqual(good.Minv);
    const wrongInverse = Float64Array.from(good.Minv);
    wrongInverse[7] += 1e-3;
    expect(() => ownerSecretFromValues({ ...v, Minv: wrongInverse })).toThrow(/inverse/);
  });
});

describe('user keys', () => {
  const owner = generateOwnerSecret(4);

  it('issues Abar with Abar W = A and the owner key id', () => {
    const secret = generateUserSecret(4);
    const key = issueUserKey(owner, secret.W);
    const { A, U } = queryKeyMaterial(owner);
    const product = multiplyMatrices(key.Abar, secret.W, 10, 4, 4);
    for (let i = 0; i < A.length; i++) expect(product[i]).toBeCloseTo(A[i], 10);
    expect(key.U).toEqual(U);
    expect(key.ownerKeyId).toBe(owner.keyId);
  });

  it('user secrets are well conditioned and differ per user', () => {
    const a = generateUserSecret(8);
    const b = generateUserSecret(8);
    const { min, max } = singularValueRange(a.W, 8);
    expect(min).toBeGreaterThanOrEqual(0.5 - 1e-9);
    expect(max).toBeLessThanOrEqual(2 + 1e-9);
    expect(a.W).not.toEqual(b.W);
    expect(() => generateUserSecret(0)).toThrow(InvalidParametersError);
  });

  it('rejects a W that is singular, of the wrong size or non-finite', () => {
    expect(() => issueUserKey(owner, new Float64Array(15))).toThrow(DimensionMismatchError);
    expect(() => issueUserKey(owner, new Float64Array(16))).toThrow(InvalidInputError);
    const rankDeficient = [1, 2, 3, 4, 2, 4, 6, 8, 0, 1, 0, 1, 1, 0, 0, 1];
    expect(() => issueUserKey(owner, rankDeficient)).toThrow(/singular/);
    const w = Array.from(generateUserSecret(4).W);
    w[5] = Number.NaN;
    expect(() => issueUserKey(owner, w)).toThrow(InvalidInputError);
  });
});

describe('trapdoor generator', () => {
  const owner = generateOwnerSecret(5);
  const secret = generateUserSecret(5);
  const key = issueUserKey(owner, secret.W);
  const generator = new TrapdoorGenerator(key, secret);

  it('equals gamma (fq A^T + U) and draws gamma in [1, 2)', () => {
    const { A, U } = queryKeyMaterial(owner);
    const q = [0.5, -1, 2, 0, 3];
    const t = generator.trapdoor(q, 1.5);
    for (let i = 0; i < 12; i++) {
      let expected = U[i];
      for (let k = 0; k < 5; k++) expected += A[i * 5 + k] * q[k];
      expect(t[i]).toBeCloseTo(1.5 * expected, 9);
    }
    const gammas = Array.from({ length: 200 }, () => randomGamma());
    expect(Math.min(...gammas)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...gammas)).toBeLessThan(2);
    expect(new Set(gammas).size).toBe(200);
    // Fresh gamma per call: the same query never yields the same trapdoor twice.
    expect(generator.trapdoor(q)).not.toEqual(generator.trapdoor(q));
  });

  it('rejects bad queries, gammas and mismatched key material', () => {
    expect(() => generator.trapdoor([1, 2, 3, 4])).toThrow(DimensionMismatchError);
    expect(() => generator.trapdoor([1, 2, Number.NaN, 4, 5])).toThrow(InvalidInputError);
    for (const gamma of [0, -1, Number.NaN, Infinity]) {
      expect(() => generator.trapdoor([1, 2, 3, 4, 5], gamma)).toThrow(InvalidInputError);
    }
    expect(() => new TrapdoorGenerator(key, generateUserSecret(4))).toThrow(DimensionMismatchError);
    expect(() => new TrapdoorGenerator({ ...key, U: key.U.slice(1) }, secret)).toThrow(DimensionMismatchError);
    expect(() => new TrapdoorGenerator({ ...key, Abar: key.Abar.slice(1) }, secret)).toThrow(DimensionMismatchError);
    const poisoned = Float64Array.from(key.Abar);
    poisoned[3] = Infinity;
    expect(() => new TrapdoorGenerator({ ...key, Abar: poisoned }, secret)).toThrow(InvalidInputError);
    expect(generator.ownerKeyId).toBe(owner.keyId);
  });
});

describe('index vector encryption', () => {
  const random = seededRandom(11);
  const d = 7;
  const owner = generateOwnerSecret(d);
  const m = encryptedDimension(d);

  it('the fast form equals fhat M^-1, and batch rows equal single encryptions bit for bit', () => {
    const n = 11; // not a multiple of 4: exercises the blocked loop and its tail
    const data = Float64Array.from({ length: n * d }, () => random.gaussian());
    data[3 * d + 2] = 0;
    const batch = encryptIndexVectors(owner, { n, d, data });
    expect(batch.n).toBe(n);
    expect(batch.d).toBe(m);
    for (let i = 0; i < n; i++) {
      const f = data.subarray(i * d, (i + 1) * d);
      const single = encryptIndexVector(owner, f);
      expect(batch.data.subarray(i * m, (i + 1) * m)).toEqual(single);
      const reference = multiplyMatrices(expandIndexVector(owner, f), owner.Minv, 1, m, m);
      for (let j = 0; j < m; j++) expect(single[j]).toBeCloseTo(reference[j], 10);
    }
    expect(new IndexEncryptor(owner).encrypt(data.subarray(0, d))).toEqual(batch.data.subarray(0, m));
    expect(encryptIndexVectors(owner, { n: 0, d, data: new Float64Array(0) }).n).toBe(0);
  });

  it('places the permuted entries where pi says', () => {
    const f = Array.from({ length: d }, (_, k) => k + 1);
    const fh = expandIndexVector(owner, f);
    let norm = 0;
    for (let k = 0; k < d; k++) {
      expect(fh[2 * owner.pi[k]]).toBeCloseTo(owner.r[k] - 2 * f[k], 12);
      norm += f[k] * f[k];
    }
    expect(fh[2 * owner.pi[d]]).toBeCloseTo(owner.r[d] + norm, 12);
    for (let s = 0; s <= d; s++) expect(fh[2 * s + 1]).toBe(owner.S[s]);
  });

  it('rejects wrong dimensions and non-finite values, naming the position', () => {
    expect(() => encryptIndexVector(owner, new Float64Array(d + 1))).toThrow(DimensionMismatchError);
    const bad = new Float64Array(d);
    bad[4] = Number.NaN;
    expect(() => encryptIndexVector(owner, bad)).toThrow(/\[4\]/);
    expect(() => encryptIndexVectors(owner, { n: 2, d: d + 1, data: new Float64Array(2 * d + 2) })).toThrow(
      DimensionMismatchError,
    );
    expect(() => encryptIndexVectors(owner, { n: 3, d, data: new Float64Array(2 * d) })).toThrow(
      DimensionMismatchError,
    );
    const set = new Float64Array(3 * d);
    set[2 * d + 1] = -Infinity;
    expect(() => encryptIndexVectors(owner, { n: 3, d, data: set })).toThrow(/vector 2, entry 1/);
  });
});
