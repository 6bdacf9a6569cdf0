/**
 * The scheme's correctness and its failure without the right key, on random keys (secure
 * randomness) and seeded data: exact score identity, encrypted ranking = plaintext Euclidean
 * ranking, W-independence across users, chance-level results with a foreign key.
 */
import { describe, expect, it } from 'vitest';
import type { RandomSource } from '../../../lib/core/random';
import { seededRandom } from '../../../lib/core/random';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { squaredDistanceAt } from '../../../lib/linalg/vectors';
import { encryptIndexVector, encryptIndexVectors } from '../../../lib/sei/index-vector';
import { generateOwnerSecret } from '../../../lib/sei/owner-key';
import { score, scoreAll, scoreAt } from '../../../lib/sei/score';
import { TrapdoorGenerator } from '../../../lib/sei/trapdoor';
import type { OwnerSecret } from '../../../lib/sei/types';
import { generateUserSecret, issueUserKey } from '../../../lib/sei/user-key';

function gaussianVector(random: RandomSource, d: number, scale = 1): Float64Array {
  const out = new Float64Array(d);
  for (let j = 0; j < d; j++) out[j] = scale * random.gaussian();
  return out;
}

function gaussianSet(random: RandomSource, n: number, d: number, unitNorm = false): VectorSet {
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const v = gaussianVector(random, d);
    if (unitNorm) normalize(v);
    data.set(v, i * d);
  }
  return { n, d, data };
}

function normalize(v: Float64Array): Float64Array {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = 1 / Math.sqrt(s);
  for (let j = 0; j < v.length; j++) v[j] *= inv;
  return v;
}

function plaintextDistances(set: VectorSet, q: Float64Array): Float64Array {
  const out = new Float64Array(set.n);
  for (let i = 0; i < set.n; i++) out[i] = squaredDistanceAt(set.data, i * set.d, q, 0, set.d);
  return out;
}

function argsort(values: Float64Array): number[] {
  return Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a] - values[b] || a - b);
}

function userFor(owner: OwnerSecret): TrapdoorGenerator {
  const secret = generateUserSecret(owner.d);
  return new TrapdoorGenerator(issueUserKey(owner, secret.W), secret);
}

const isIdentity = (p: Uint32Array): boolean => p.every((v, i) => v === i);

describe('SEI score identity', () => {
  it('score(f,t) - score(g,t) = gamma theta (||f-q||^2 - ||g-q||^2), and the closed form holds', () => {
    const random = seededRandom(101);
    for (const d of [2, 5, 32]) {
      const owner = generateOwnerSecret(d);
      expect(isIdentity(owner.pi)).toBe(false);
      const user = userFor(owner);
      for (let trial = 0; trial < 20; trial++) {
        const scale = [0.01, 1, 30][trial % 3];
        const f = gaussianVector(random, d, scale);
        const g = gaussianVector(random, d, scale);
        const q = gaussianVector(random, d, scale);
        const gamma = 1 + random.next();
        const t = user.trapdoor(q, gamma);
        const sf = score(encryptIndexVector(owner, f), t);
        const sg = score(encryptIndexVector(owner, g), t);
        const df = squaredDistanceAt(f, 0, q, 0, d);
        const dg = squaredDistanceAt(g, 0, q, 0, d);
        const expectedDiff = gamma * owner.theta * (df - dg);
        // Rounding is relative to the size of the terms that cancel, not to the difference.
        const magnitude = gamma * owner.theta * (df + dg + 4 * d * (1 + scale * scale)) + 10 * d;
        expect(Math.abs(sf - sg - expectedDiff)).toBeLessThanOrEqual(1e-11 * magnitude);

        // Closed form: gamma theta (||f-q||^2 - ||q||^2 + c(q)) + gamma S.X with
        // c(q) = sum_k q_k (r_k + S[pi_k]) + r_d + S[pi_d].
        let c = owner.r[d] + owner.S[owner.pi[d]];
        let qq = 0;
        let sx = 0;
        for (let k = 0; k < d; k++) {
          c += q[k] * (owner.r[k] + owner.S[owner.pi[k]]);
          qq += q[k] * q[k];
        }
        for (let s = 0; s <= d; s++) sx += owner.S[s] * owner.X[s];
        const closed = gamma * owner.theta * (df - qq + c) + gamma * sx;
        expect(Math.abs(sf - closed)).toBeLessThanOrEqual(1e-11 * magnitude);
      }
    }
  });

  it('a different gamma scales every score of the query by the same factor', () => {
    const random = seededRandom(7);
    const owner = generateOwnerSecret(16);
    const user = userFor(owner);
    const q = gaussianVector(random, 16);
    const f = encryptIndexVector(owner, gaussianVector(random, 16));
    const ratio = score(f, user.trapdoor(q, 1.75)) / score(f, user.trapdoor(q, 1.25));
    expect(ratio).toBeCloseTo(1.4, 10);
  });
});

describe('SEI ranking equals plaintext Euclidean ranking', () => {
  it('n = 2000, d = 128, 30 queries: full ranking identical up to exact ties', () => {
    const d = 128;
    const n = 2000;
    const random = seededRandom(2024);
    const data = gaussianSet(random, n, d);
    const owner = generateOwnerSecret(d);
    expect(isIdentity(owner.pi)).toBe(false);
    const encrypted = encryptIndexVectors(owner, data);
    expect(encrypted.n).toBe(n);
    expect(encrypted.d).toBe(2 * d + 2);
    const user = userFor(owner);

    let identicalRankings = 0;
    for (let query = 0; query < 30; query++) {
      // Half the queries near a stored vector (dense neighbourhoods), half fresh.
      const q = gaussianVector(random, d, 0.3);
      if (query % 2 === 0) {
        const base = random.int(n);
        for (let j = 0; j < d; j++) q[j] = data.data[base * d + j] + 0.05 * q[j];
      }
      const distances = plaintextDistances(data, q);
      const t = user.trapdoor(q);
      const scores = scoreAll(encrypted, t);
      const encryptedOrder = argsort(scores);
      // Along the encrypted order, plaintext distances never decrease (except exact ties).
      for (let i = 1; i < n; i++) {
        const previous = distances[encryptedOrder[i - 1]];
        const current = distances[encryptedOrder[i]];
        expect(previous).toBeLessThanOrEqual(current * (1 + 1e-9));
      }
      const plainOrder = argsort(distances);
      if (plainOrder.every((v, i) => v === encryptedOrder[i])) identicalRankings++;
    }
    // Continuous random data has no ties: every ranking should be identical index for index.
    expect(identicalRankings).toBe(30);
  });

  it('scoreAt on a row-major buffer equals score on the row', () => {
    const random = seededRandom(5);
    const owner = generateOwnerSecret(8);
    const encrypted = encryptIndexVectors(owner, gaussianSet(random, 10, 8));
    const t = userFor(owner).trapdoor(gaussianVector(random, 8));
    const m = encrypted.d;
    for (let i = 0; i < 10; i++) {
      const rowScore = score(encrypted.data.slice(i * m, (i + 1) * m), t);
      expect(scoreAt(encrypted.data, i * m, t)).toBe(rowScore);
    }
    expect(() => score(new Float64Array(m - 1), t)).toThrow(/dimension/);
    expect(() => scoreAll({ n: 1, d: m - 2, data: new Float64Array(m - 2) }, t)).toThrow(/dimension/);
  });
});

describe('SEI users with different W', () => {
  it('get the same ranking while their trapdoors for the same query differ', () => {
    const d = 64;
    const n = 500;
    const random = seededRandom(77);
    const data = gaussianSet(random, n, d);
    const owner = generateOwnerSecret(d);
    const encrypted = encryptIndexVectors(owner, data);
    const alice = generateUserSecret(d);
    const bob = generateUserSecret(d);
    const aliceKey = issueUserKey(owner, alice.W);
    const bobKey = issueUserKey(owner, bob.W);
    // Their stored key material differs (W hides A)...
    expect(maxAbsDifference(aliceKey.Abar, bobKey.Abar)).toBeGreaterThan(1e-3);
    const aliceGen = new TrapdoorGenerator(aliceKey, alice);
    const bobGen = new TrapdoorGenerator(bobKey, bob);
    for (let query = 0; query < 10; query++) {
      const q = gaussianVector(random, d);
      const ta = aliceGen.trapdoor(q);
      const tb = bobGen.trapdoor(q);
      // ...and fresh gammas make their trapdoors differ, yet the rankings agree.
      expect(maxAbsDifference(ta, tb)).toBeGreaterThan(1e-6);
      expect(argsort(scoreAll(encrypted, ta))).toEqual(argsort(scoreAll(encrypted, tb)));
      expect(argsort(scoreAll(encrypted, ta))).toEqual(argsort(plaintextDistances(data, q)));
    }
  });
});

function maxAbsDifference(a: Float64Array, b: Float64Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('SEI without the right key', () => {
  /**
   * Under "the returned top-k is unrelated to the true top-k", the overlap of two k-subsets of n
   * items has mean k^2/n per query (hypergeometric), so over Q queries the total is close to
   * Poisson(Q k^2 / n) = Poisson(2.5) here; P(total >= 13) < 2e-6. Unit-norm data (as CNN
   * features usually are) keeps the check free of hubness: with Gaussian data, the vectors of
   * small norm are near every query and would inflate any norm-biased ranking.
   */
  const d = 128;
  const n = 2000;
  const k = 10;
  const queries = 50;
  const threshold = 13;

  function totalOverlap(data: VectorSet, encrypted: VectorSet, generator: TrapdoorGenerator, random: RandomSource) {
    let hits = 0;
    for (let query = 0; query < queries; query++) {
      const q = normalize(gaussianVector(random, d));
      const truth = new Set(argsort(plaintextDistances(data, q)).slice(0, k));
      const returned = argsort(scoreAll(encrypted, generator.trapdoor(q))).slice(0, k);
      for (const id of returned) if (truth.has(id)) hits++;
    }
    return hits;
  }

  it('a key issued by another owner secret gives chance-level recall; the right key gives all', () => {
    const random = seededRandom(31337);
    const data = gaussianSet(random, n, d, true);
    const owner = generateOwnerSecret(d);
    const encrypted = encryptIndexVectors(owner, data);
    const other = generateOwnerSecret(d);
    const stranger = generateUserSecret(d);
    const wrong = new TrapdoorGenerator(issueUserKey(other, stranger.W), stranger);
    const wrongHits = totalOverlap(data, encrypted, wrong, seededRandom(1));
    expect(wrongHits).toBeLessThan(threshold);
    expect(wrongHits / (queries * k)).toBeLessThan(3 * (k / n) + 0.01);
    expect(totalOverlap(data, encrypted, userFor(owner), seededRandom(1))).toBe(queries * k);
  });

  it('a random user key (random Abar and U) gives chance-level recall', () => {
    const random = seededRandom(4242);
    const data = gaussianSet(random, n, d, true);
    const owner = generateOwnerSecret(d);
    const encrypted = encryptIndexVectors(owner, data);
    const m = 2 * d + 2;
    const secret = generateUserSecret(d);
    const forged = new TrapdoorGenerator(
      { d, ownerKeyId: owner.keyId, Abar: gaussianVector(random, m * d), U: gaussianVector(random, m) },
      secret,
    );
    expect(totalOverlap(data, encrypted, forged, seededRandom(2))).toBeLessThan(threshold);
  });
});
