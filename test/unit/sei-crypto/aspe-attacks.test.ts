/**
 * What SEI's encryption leaks (docs/threat-model.md, "SEI"), demonstrated on the real key
 * generation, encryption and trapdoor code (attack code: support/aspe-attacks.ts):
 *
 * (a) A cloud with ciphertexts only recovers every pairwise distance between the indexed
 *     feature vectors up to one scale factor once it holds (d+2)(d+3)/2 - 1 of them, hence the
 *     vectors up to a similarity transform, and every query's distance to every image (not only
 *     the order, not only the visited ones). K-anonymity decoys drawn from indexed images (as
 *     the CLI draws them) sit exactly on an image, so the cloud tells the real query apart.
 * (b) One user's key plus the cloud's ciphertexts decrypt every index vector and every trapdoor
 *     (of any user, decoys included) exactly, with no known plaintext.
 * (c) d + 2 known (feature vector, encrypted vector) pairs decrypt every other index vector, and
 *     then every query, exactly (the known-plaintext attack on ASPE).
 * (d) Trapdoors are linkable: two trapdoors of the same query are parallel whoever made them
 *     (the owner's placement trapdoor of an added image included), whatever gamma.
 *
 * The tests print the numbers the threat model quotes.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lib/core/random';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { selectRows } from '../../../lib/linalg/vectors';
import { vectorSet } from '../../support/vectors';
import { multiplyMatrices } from '../../../lib/linalg/matrix';
import { encryptIndexVectors } from '../../../lib/sei/index-vector';
import { createKAnonymousRequest } from '../../../lib/sei/k-anonymity';
import { generateOwnerSecret } from '../../../lib/sei/owner-key';
import { scoreAll } from '../../../lib/sei/score';
import { TrapdoorGenerator } from '../../../lib/sei/trapdoor';
import { encryptedDimension } from '../../../lib/sei/types';
import { generateUserSecret, issueUserKey } from '../../../lib/sei/user-key';
import { affineFrame, configurationOf, decryptWithUserKey, fitQuadric, knownPlaintextDecryptor, locateQuery, quadricCoefficients, queryOfTrapdoor } from './support/aspe-attacks';

function gaussianVectors(n: number, d: number, seed: number): VectorSet {
  const random = seededRandom(seed);
  return vectorSet(n, d, Float64Array.from({ length: n * d }, () => random.gaussian()));
}

function distance(a: VectorSet, i: number, b: VectorSet, j: number): number {
  let s = 0;
  for (let k = 0; k < a.d; k++) s += (a.data[i * a.d + k] - b.data[j * b.d + k]) ** 2;
  return Math.sqrt(s);
}

function pointDistance(set: VectorSet, i: number, point: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < set.d; k++) s += (set.data[i * set.d + k] - point[k]) ** 2;
  return Math.sqrt(s);
}

function nearest(distances: (j: number) => number, n: number, skip = -1): number {
  let best = -1;
  for (let j = 0; j < n; j++) if (j !== skip && (best < 0 || distances(j) < distances(best))) best = j;
  return best;
}

/** A user of the owner: the trapdoor generator, and the A = Abar W and U a colluding user hands over. */
function user(owner: ReturnType<typeof generateOwnerSecret>) {
  const { d } = owner;
  const secret = generateUserSecret(d);
  const key = issueUserKey(owner, secret.W);
  return { generator: new TrapdoorGenerator(key, secret), A: multiplyMatrices(key.Abar, secret.W, encryptedDimension(d), d, d), U: key.U };
}

/**
 * Ciphertext-only attack at dimension d on n images. Returns the worst relative errors, for
 * the caller to compare with what it expects.
 */
function ciphertextOnly(d: number, n: number, seed: number) {
  const owner = generateOwnerSecret(d);
  const features = gaussianVectors(n, d, seed);
  const ciphertexts = encryptIndexVectors(owner, features);

  // The cloud's work: ciphertexts only.
  const frame = affineFrame(ciphertexts, d + 1);
  const quadric = fitQuadric(frame.points);
  const recovered = configurationOf(frame, quadric, d).vectors;

  // Check against the plaintexts: one scale s for all pairs.
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const truth = distance(features, i, features, j);
      num += distance(recovered, i, recovered, j) * truth;
      den += truth * truth;
    }
  }
  const scale = num / den;
  let worst = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const truth = distance(features, i, features, j);
      worst = Math.max(worst, Math.abs(distance(recovered, i, recovered, j) / scale - truth));
      sum += truth;
    }
  }
  const meanDistance = sum / ((n * (n - 1)) / 2);
  let sameNearest = 0;
  for (let i = 0; i < n; i++) {
    const truth = nearest((j) => distance(features, i, features, j), n, i);
    const found = nearest((j) => distance(recovered, i, recovered, j), n, i);
    if (truth === found) sameNearest++;
  }
  return { owner, features, ciphertexts, frame, quadric, recovered, scale, pairError: worst / meanDistance, sameNearest };
}

describe('(a) a cloud with ciphertexts only: quadric fitting', () => {
  for (const [d, seed] of [
    [16, 1601],
    [32, 3201],
  ] as const) {
    const n = quadricCoefficients(d + 1) - 1 + 16;
    it(`d = ${d}: ${n} ciphertexts give every pairwise distance up to one scale, and every query's distance to every image`, () => {
      const attack = ciphertextOnly(d, n, seed);
      const { frame, quadric, recovered, scale, features, ciphertexts, owner } = attack;
      // The ciphertexts span a (d+1)-dim affine subspace of R^(2d+2): a cliff in the spectrum.
      expect(frame.spectrum[d] / frame.spectrum[d + 1]).toBeGreaterThan(1e12);
      expect(quadric.residual).toBeLessThan(1e-9);
      expect(attack.pairError).toBeLessThan(1e-8);
      expect(attack.sameNearest).toBe(n);

      // A user's query: the cloud scores the trapdoor against every ciphertext it holds and
      // places the query in the recovered frame.
      const alice = user(owner);
      const random = seededRandom(seed + 1);
      let queryError = 0;
      let sameTen = 0;
      const queries = 5;
      for (let trial = 0; trial < queries; trial++) {
        const q = Float64Array.from({ length: d }, () => random.gaussian());
        const located = locateQuery(recovered, scoreAll(ciphertexts, alice.generator.trapdoor(q)));
        const truth = Array.from({ length: n }, (_, i) => pointDistance(features, i, q));
        const found = Array.from({ length: n }, (_, i) => pointDistance(recovered, i, located) / scale);
        const mean = truth.reduce((s, x) => s + x, 0) / n;
        for (let i = 0; i < n; i++) queryError = Math.max(queryError, Math.abs(found[i] - truth[i]) / mean);
        const top = (values: number[]) => values.map((v, i) => ({ v, i })).sort((x, y) => x.v - y.v).slice(0, 10).map(({ i }) => i);
        if (JSON.stringify(top(truth)) === JSON.stringify(top(found))) sameTen++;
      }
      expect(queryError).toBeLessThan(1e-6);
      expect(sameTen).toBe(queries);

      // K-anonymity with decoys drawn from indexed images: each decoy sits on an image.
      const decoyPool = selectRows(features, Array.from({ length: 32 }, (_, i) => (i * 7) % n));
      const q = Float64Array.from({ length: d }, () => random.gaussian());
      const request = createKAnonymousRequest((v) => alice.generator.trapdoor(v), q, decoyPool, 4, random);
      const gaps = request.trapdoors.map((t) => {
        const located = locateQuery(recovered, scoreAll(ciphertexts, t));
        return Math.min(...Array.from({ length: n }, (_, i) => pointDistance(recovered, i, located))) / scale;
      });
      const guess = gaps.indexOf(Math.max(...gaps));
      expect(guess).toBe(request.realIndex);
      for (const [i, gap] of gaps.entries()) if (i !== request.realIndex) expect(gap).toBeLessThan(1e-5);

      console.info(
        `SEI ciphertext-only, d = ${d}, n = ${n} (needs ${quadricCoefficients(d + 1) - 1}): quadric residual ${quadric.residual.toExponential(1)}; ` +
          `pairwise distances up to one scale, worst error ${attack.pairError.toExponential(1)} of the mean distance; ` +
          `nearest neighbour right for ${attack.sameNearest}/${n}; query-to-image distances worst error ${queryError.toExponential(1)}, ` +
          `top-10 of every image right for ${sameTen}/${queries} queries; K = 4 request: real query found (decoys within ${Math.max(...gaps.filter((_, i) => i !== request.realIndex)).toExponential(1)} of an image)`,
      );
    });
  }

  it('needs (d+2)(d+3)/2 - 1 ciphertexts: with fewer, the quadric is not determined and the distances are wrong', () => {
    const d = 16;
    const needed = quadricCoefficients(d + 1) - 1;
    const short = ciphertextOnly(d, needed - 3, 1602);
    expect(short.pairError).toBeGreaterThan(1e-3);
    const enough = ciphertextOnly(d, needed + 1, 1602);
    expect(enough.pairError).toBeLessThan(1e-8);
    console.info(`SEI ciphertext-only, d = ${d}: ${needed - 3} ciphertexts: error ${short.pairError.toExponential(1)}; ${needed + 1}: ${enough.pairError.toExponential(1)}`);
  });
});

describe('(b) one user colluding with the cloud: no known plaintext needed', () => {
  for (const [d, n] of [
    [32, 200],
    [128, 200],
  ] as const) {
    it(`d = ${d}: the user's key decrypts all ${n} index vectors and every trapdoor, of any user, decoys included`, () => {
      const owner = generateOwnerSecret(d);
      const features = gaussianVectors(n, d, 900 + d);
      const ciphertexts = encryptIndexVectors(owner, features);
      const mallory = user(owner);
      const alice = user(owner);

      const recovered = decryptWithUserKey(ciphertexts, mallory.A, mallory.U, d);
      let worst = 0;
      let norm = 0;
      for (let i = 0; i < n * d; i++) {
        worst = Math.max(worst, Math.abs(recovered.data[i] - features.data[i]));
        norm = Math.max(norm, Math.abs(features.data[i]));
      }
      expect(worst / norm).toBeLessThan(1e-9);

      // Alice's queries, through Mallory's key (W cancels: A and U are the same for every user).
      const random = seededRandom(d);
      let queryWorst = 0;
      for (let trial = 0; trial < 10; trial++) {
        const q = Float64Array.from({ length: d }, () => random.gaussian());
        const found = queryOfTrapdoor(alice.generator.trapdoor(q), mallory.A, mallory.U, d);
        for (let k = 0; k < d; k++) queryWorst = Math.max(queryWorst, Math.abs(found[k] - q[k]) / norm);
      }
      expect(queryWorst).toBeLessThan(1e-9);

      // A K-anonymous request: every decoy decrypts to an indexed image's vector, the real query to none.
      const decoyPool = selectRows(features, Array.from({ length: 40 }, (_, i) => i));
      const q = Float64Array.from({ length: d }, () => random.gaussian());
      const request = createKAnonymousRequest((v) => alice.generator.trapdoor(v), q, decoyPool, 8, random);
      const onImage = request.trapdoors.map((t) => {
        const found = queryOfTrapdoor(t, mallory.A, mallory.U, d);
        return Array.from({ length: n }, (_, i) => pointDistance(recovered, i, found)).some((gap) => gap < 1e-6 * norm);
      });
      expect(onImage.indexOf(false)).toBe(request.realIndex);
      expect(onImage.filter((x) => !x)).toHaveLength(1);

      console.info(
        `SEI user key + ciphertexts, d = ${d}, n = ${n}: every index vector decrypted, worst error ${(worst / norm).toExponential(1)} of the largest entry; ` +
          `10 queries of another user: worst error ${queryWorst.toExponential(1)}; K = 8 request: all 7 decoys decrypt onto indexed images, the real query onto none`,
      );
    });
  }
});

describe('(c) known plaintext: d + 2 pairs decrypt everything', () => {
  for (const [d, n] of [
    [32, 200],
    [128, 300],
  ] as const) {
    it(`d = ${d}: ${d + 2} known (feature vector, encrypted vector) pairs decrypt the other ${n - d - 2} index vectors and every query`, () => {
      const owner = generateOwnerSecret(d);
      const features = gaussianVectors(n, d, 700 + d);
      const ciphertexts = encryptIndexVectors(owner, features);
      // The attacker knows the first d + 2 images (public photos the owner indexed, say).
      const known = Array.from({ length: d + 2 }, (_, i) => i);
      const decrypt = knownPlaintextDecryptor(selectRows(features, known), selectRows(ciphertexts, known));
      let norm = 0;
      for (const x of features.data) norm = Math.max(norm, Math.abs(x));
      const recovered = vectorSet(n, d);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const f = decrypt(ciphertexts.data.subarray(i * ciphertexts.d, (i + 1) * ciphertexts.d));
        recovered.data.set(f, i * d);
        if (i < d + 2) continue;
        for (let k = 0; k < d; k++) worst = Math.max(worst, Math.abs(f[k] - features.data[i * d + k]) / norm);
      }
      expect(worst).toBeLessThan(1e-9);

      // With every index vector in the clear, a trapdoor's scores place its query exactly (not up to scale).
      const alice = user(owner);
      const random = seededRandom(d + 7);
      let queryWorst = 0;
      for (let trial = 0; trial < 10; trial++) {
        const q = Float64Array.from({ length: d }, () => random.gaussian());
        const found = locateQuery(recovered, scoreAll(ciphertexts, alice.generator.trapdoor(q)));
        for (let k = 0; k < d; k++) queryWorst = Math.max(queryWorst, Math.abs(found[k] - q[k]) / norm);
      }
      expect(queryWorst).toBeLessThan(1e-6);

      // d + 1 pairs are not enough: the system is underdetermined.
      expect(() => knownPlaintextDecryptor(selectRows(features, known.slice(1)), selectRows(ciphertexts, known.slice(1)))).toThrow(/d \+ 2/);
      console.info(
        `SEI known plaintext, d = ${d}: ${d + 2} pairs decrypt the other ${n - d - 2} index vectors, worst error ${worst.toExponential(1)} of the largest entry; ` +
          `10 queries located from their scores, worst error ${queryWorst.toExponential(1)}`,
      );
    });
  }
});

describe('(d) linkability: trapdoors of one query are parallel, whoever made them', () => {
  /** Largest entry of t1/|t1| - t2/|t2|: 0 for parallel trapdoors. */
  function directionGap(t1: ArrayLike<number>, t2: ArrayLike<number>): number {
    const norm = (t: ArrayLike<number>) => Math.sqrt(Array.from(t).reduce((s, x) => s + x * x, 0));
    const n1 = norm(t1);
    const n2 = norm(t2);
    let gap = 0;
    for (let j = 0; j < t1.length; j++) gap = Math.max(gap, Math.abs(t1[j] / n1 - t2[j] / n2));
    return gap;
  }

  it('d = 64: the same query from two users (and an owner placement trapdoor) gives parallel trapdoors; different queries do not', () => {
    const d = 64;
    const owner = generateOwnerSecret(d);
    const alice = user(owner);
    const bob = user(owner);
    // The owner's placement trapdoors (adding an image) come from a key of the same kind.
    const placement = user(owner);
    const random = seededRandom(641);
    let sameWorst = 0;
    let differentBest = Infinity;
    const trials = 20;
    for (let trial = 0; trial < trials; trial++) {
      const q = Float64Array.from({ length: d }, () => random.gaussian());
      const other = Float64Array.from(q, (x) => x + 1e-3 * random.gaussian());
      const fromAlice = alice.generator.trapdoor(q);
      sameWorst = Math.max(sameWorst, directionGap(fromAlice, alice.generator.trapdoor(q)), directionGap(fromAlice, bob.generator.trapdoor(q)), directionGap(fromAlice, placement.generator.trapdoor(q)));
      differentBest = Math.min(differentBest, directionGap(fromAlice, bob.generator.trapdoor(other)));
    }
    expect(sameWorst).toBeLessThan(1e-12);
    // A query moved by 1e-3 per coordinate is told apart by orders of magnitude.
    expect(differentBest).toBeGreaterThan(1e3 * Math.max(sameWorst, 1e-15));
    console.info(
      `SEI linkability, d = ${d}: ${trials} queries, trapdoors of the same query (same user, another user, the owner's placement key) differ in direction by at most ${sameWorst.toExponential(1)}; ` +
        `a query moved by 1e-3 per coordinate by at least ${differentBest.toExponential(1)}`,
    );
  });
});
