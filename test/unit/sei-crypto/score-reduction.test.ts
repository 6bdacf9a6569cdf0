import { describe, expect, it } from 'vitest';
import { DimensionMismatchError, InvalidInputError } from '../../../lib/core/errors';
import { clusteredVectors } from '../../../scripts/bench/synthetic/vectors';
import { uniformVectors } from '../../support/vectors';
import { invertMatrix } from '../../../lib/linalg/matrix';
import { dotAt, row } from '../../../lib/linalg/vectors';
import { encryptIndexVectors } from '../../../lib/sei/index-vector';
import { generateOwnerSecret, ownerSecretFromValues } from '../../../lib/sei/owner-key';
import {
  arrangeForScoreReduction,
  checkScoreReduction,
  reduceTrapdoor,
  scoreReduction,
  SUBSPACE_TOLERANCE,
  subspaceDeviation,
} from '../../../lib/sei/score-reduction';
import { TrapdoorGenerator } from '../../../lib/sei/trapdoor';
import { generateUserSecret, issueUserKey } from '../../../lib/sei/user-key';

describe('score reduction (d+1 of the 2d+2 coordinates)', () => {
  const d = 24;
  const m = 2 * d + 2;
  const owner = generateOwnerSecret(d);
  const reduction = scoreReduction(owner)!;
  const secret = generateUserSecret(d);
  const user = new TrapdoorGenerator(issueUserKey(owner, secret.W), secret);
  const { vectors } = clusteredVectors({ n: 600, d, seed: 5 });
  const encrypted = encryptIndexVectors(owner, vectors);

  it('gives the same score as the full dot product f\'.t, and so the same ranking', () => {
    expect(reduction).toBeDefined();
    for (let q = 0; q < 20; q++) {
      const t = user.trapdoor(row(vectors, q * 29));
      const { weights, offset } = reduceTrapdoor(reduction, t);
      expect(weights.length).toBe(d + 1);
      const full = Array.from({ length: vectors.n }, (_, i) => dotAt(encrypted.data, i * m, t, 0, m));
      const reduced = Array.from({ length: vectors.n }, (_, i) => offset + dotAt(encrypted.data, i * m, weights, 0, d + 1));
      let largest = 1;
      for (const s of full) largest = Math.max(largest, Math.abs(s));
      full.forEach((s, i) => expect(Math.abs(s - reduced[i])).toBeLessThan(1e-9 * largest));
      const byFull = full.map((s, i) => [s, i]).sort((a, b) => a[0] - b[0]).map((p) => p[1]);
      const byReduced = reduced.map((s, i) => [s, i]).sort((a, b) => a[0] - b[0]).map((p) => p[1]);
      expect(byReduced.slice(0, 20)).toEqual(byFull.slice(0, 20));
    }
  });

  it('recognises the owner key\'s encryptions and rejects anything else', () => {
    for (let i = 0; i < vectors.n; i += 37) expect(subspaceDeviation(reduction, encrypted.data, i * m)).toBeLessThan(SUBSPACE_TOLERANCE);
    const other = encryptIndexVectors(generateOwnerSecret(d), vectors);
    const noise = uniformVectors(20, m, 3);
    for (let i = 0; i < 20; i++) {
      expect(subspaceDeviation(reduction, other.data, i * m)).toBeGreaterThan(1e-3);
      expect(subspaceDeviation(reduction, noise.data, i * m)).toBeGreaterThan(1e-3);
    }
  });

  it('exists for every generated key: key generation orders the coordinates for it', () => {
    for (let i = 0; i < 40; i++) expect(scoreReduction(generateOwnerSecret(8))).toBeDefined();
  });

  it('reordering the coordinates of a key whose first d+1 are degenerate keeps every score', () => {
    // M = I: the first d+1 coordinates hold only half of the subspace, so there is no reduction.
    const dd = 5;
    const mm = 2 * dd + 2;
    const identity = Float64Array.from({ length: mm * mm }, (_, i) => (i % (mm + 1) === 0 ? 1 : 0));
    const plain = ownerSecretFromValues({
      d: dd,
      M: identity,
      r: [0.3, -0.2, 0.5, 0.1, -0.7, 0.9],
      S: [0.2, 0.4, -0.6, 0.8, -0.1, 0.3],
      pi: [2, 0, 1, 5, 3, 4],
      theta: 1.5,
      X: [0.5, -0.5, 0.25, 0.75, -0.25, 0.1],
    });
    expect(scoreReduction(plain)).toBeUndefined();
    const arranged = arrangeForScoreReduction(plain);
    const reduced = scoreReduction(arranged)!;
    expect(reduced).toBeDefined();
    const w = generateUserSecret(dd);
    const before = new TrapdoorGenerator(issueUserKey(plain, w.W), w);
    const after = new TrapdoorGenerator(issueUserKey(arranged, w.W), w);
    const data = uniformVectors(30, dd, 7);
    const oldVectors = encryptIndexVectors(plain, data);
    const newVectors = encryptIndexVectors(arranged, data);
    for (let q = 0; q < 5; q++) {
      const t0 = before.trapdoor(row(data, q), 1.5);
      const t1 = after.trapdoor(row(data, q), 1.5);
      const { weights, offset } = reduceTrapdoor(reduced, t1);
      for (let i = 0; i < data.n; i++) {
        const original = dotAt(oldVectors.data, i * mm, t0, 0, mm);
        expect(dotAt(newVectors.data, i * mm, t1, 0, mm)).toBeCloseTo(original, 9);
        expect(offset + dotAt(newVectors.data, i * mm, weights, 0, dd + 1)).toBeCloseTo(original, 8);
      }
    }
  });

  it('adds nothing the cloud lacks: d+2 stored ciphertexts give the same reduction without any key', () => {
    // The cloud's computation: regress coordinates d+1..m-1 on (1, coordinates 0..d) over d+2 ciphertexts.
    const D = d + 1;
    const rows = D + 1;
    const stored = encryptIndexVectors(owner, uniformVectors(rows, d, 11));
    const design = new Float64Array(rows * rows);
    for (let i = 0; i < rows; i++) {
      design[i * rows] = 1;
      for (let j = 0; j < D; j++) design[i * rows + 1 + j] = stored.data[i * m + j];
    }
    const inverse = invertMatrix(design, rows)!;
    for (let r = 0; r < D; r++) {
      const target = Float64Array.from({ length: rows }, (_, i) => stored.data[i * m + D + r]);
      const solution = Array.from({ length: rows }, (_, a) => dotAt(inverse, a * rows, target, 0, rows));
      expect(solution[0]).toBeCloseTo(reduction.intercept[r], 5);
      for (let j = 0; j < D; j++) expect(solution[1 + j]).toBeCloseTo(reduction.coupling[j * D + r], 5);
    }
  });

  it('rejects stored reductions of the wrong shape or with non-finite values', () => {
    expect(() => checkScoreReduction(reduction)).not.toThrow();
    expect(() => checkScoreReduction({ ...reduction, intercept: reduction.intercept.subarray(1) })).toThrow(DimensionMismatchError);
    expect(() => checkScoreReduction({ ...reduction, coupling: reduction.coupling.subarray(1) })).toThrow(DimensionMismatchError);
    expect(() => checkScoreReduction({ ...reduction, m: m + 2 })).toThrow(DimensionMismatchError);
    const bad = Float64Array.from(reduction.coupling);
    bad[3] = Number.NaN;
    expect(() => checkScoreReduction({ ...reduction, coupling: bad })).toThrow(InvalidInputError);
  });
});
