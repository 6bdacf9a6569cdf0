/**
 * The paper's toy example (section 5.4) and the consistent test vectors of
 * docs/sei-math.md (d = 2, identity pi, theta = 3, X = (6,1,2), W = [[4,5],[3,1]],
 * gamma = 3.7).
 */
import { describe, expect, it } from 'vitest';
import { encryptIndexVector, expandIndexVector } from '../../../lib/sei/index-vector';
import { invertMatrix, multiplyMatrices } from '../../../lib/linalg/matrix';
import { ownerSecretFromValues, pairSums } from '../../../lib/sei/owner-key';
import { score } from '../../../lib/sei/score';
import { TrapdoorGenerator } from '../../../lib/sei/trapdoor';
import { issueUserKey, queryKeyMaterial } from '../../../lib/sei/user-key';

// prettier-ignore
const M = [
  17, 1, 26, 38, 8, 26,
  33, 38, 5, 12, 1, 5,
  18, 43, 9, 13, 22, 32,
  36, 28, 6, 41, 23, 14,
  25, 44, 21, 13, 5, 16,
  22, 24, 6, 28, 27, 28,
];
const W = [4, 5, 3, 1];
const GAMMA = 3.7;
const f1 = [2, 3];
const f2 = [8, 6];
const fq = [3, 4.2];

function toyOwner() {
  return ownerSecretFromValues({ d: 2, M, r: [1, 3, 1], S: [2, 12, 3], pi: [0, 1, 2], theta: 3, X: [6, 1, 2] });
}

function expectClose(actual: ArrayLike<number>, expected: number[], decimals: number): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((v, i) => expect(actual[i]).toBeCloseTo(v, decimals));
}

describe('SEI toy example (paper 5.4, consistent form)', () => {
  const owner = toyOwner();

  it('expands f1 to the paper fhat and encrypts f1, f2 to the paper values', () => {
    expectClose(expandIndexVector(owner, f1), [-3, 2, -3, 12, 14, 3], 12);
    expectClose(encryptIndexVector(owner, f1), [-0.077, -0.988, 1.104, 1.371, -0.265, -1.44], 3);
    expectClose(encryptIndexVector(owner, f2), [-5.509, -5.97, -9.828, -1.623, 8.666, 13.38], 3);
  });

  it('computes the consistent pair sums, A and U', () => {
    expectClose(pairSums(owner), [18, 64, 34, 71, 17, 6, 61, 22, 54, 64, 47, 37, 69, 34, 21, 46, 34, 55], 10);
    const { A, U } = queryKeyMaterial(owner);
    expectClose(A, [54, 192, 213, 51, 183, 66, 192, 141, 207, 102, 138, 102], 10);
    expectClose(U, [198, 268, 497, 348, 372, 393], 10);
  });

  it('issues Abar = A W^-1 and produces the trapdoor and scores of the note', () => {
    const key = issueUserKey(owner, W);
    expectClose(key.Abar.subarray(0, 2), [47.455, -45.273], 3);
    expect(key.ownerKeyId).toBe(owner.keyId);
    const generator = new TrapdoorGenerator(key, { d: 2, W: Float64Array.from(W) });
    const t = generator.trapdoor(fq, GAMMA);
    expectClose(t, [4315.68, 4148.44, 4895.84, 5609.94, 5259.18, 4570.98], 2);
    const s1 = score(encryptIndexVector(owner, f1), t);
    const s2 = score(encryptIndexVector(owner, f2), t);
    expect(s1).toBeCloseTo(685.98, 3);
    expect(s2).toBeCloseTo(972.36, 3);
    expect(s2 - s1).toBeCloseTo(286.38, 3);
    // ||f2 - fq||^2 - ||f1 - fq||^2 = 28.24 - 2.44 = 25.8
    expect(s2 - s1).toBeCloseTo(3 * GAMMA * 25.8, 6);
    expect(s1).toBeLessThan(s2);
  });

  it("documents the paper's slip: its numbers come from M' with the 2nd and 3rd columns swapped", () => {
    const P = pairSums(owner);
    // The paper's M' = pair sums with columns 1 and 2 (0-based) exchanged.
    const slipped = new Float64Array(18);
    for (let i = 0; i < 6; i++) {
      slipped[i * 3] = P[i * 3];
      slipped[i * 3 + 1] = P[i * 3 + 2];
      slipped[i * 3 + 2] = P[i * 3 + 1];
    }
    expectClose(slipped, [18, 34, 64, 71, 6, 17, 61, 54, 22, 64, 37, 47, 69, 21, 34, 46, 55, 34], 10);
    const theta = 3;
    const X = [6, 1, 2];
    const A = new Float64Array(12);
    const U = new Float64Array(6);
    for (let i = 0; i < 6; i++) {
      A[i * 2] = theta * slipped[i * 3];
      A[i * 2 + 1] = theta * slipped[i * 3 + 1];
      U[i] = theta * slipped[i * 3 + 2] + X[0] * M[i * 6 + 1] + X[1] * M[i * 6 + 3] + X[2] * M[i * 6 + 5];
    }
    expectClose(A, [54, 102, 213, 18, 183, 162, 192, 111, 207, 63, 138, 165], 10);
    expectClose(U, [288, 301, 401, 378, 411, 330], 10);
    const wInv = invertMatrix(Float64Array.from(W), 2);
    expect(wInv).toBeDefined();
    const Abar = multiplyMatrices(A, wInv as Float64Array, 6, 2, 2);
    expectClose(Abar, [22.909, -12.545, -14.455, 90.273, 27.545, 24.273, 12.818, 46.909, -1.636, 71.182, 32.455, 2.727], 3);
    const generator = new TrapdoorGenerator(
      { d: 2, ownerKeyId: owner.keyId, Abar, U },
      { d: 2, W: Float64Array.from(W) },
    );
    const t = generator.trapdoor(fq, GAMMA);
    expectClose(t, [3250.08, 3757.72, 6032.48, 5254.74, 4797.42, 5316.9], 2);
    const s1 = score(encryptIndexVector(owner, f1), t);
    const s2 = score(encryptIndexVector(owner, f2), t);
    expect(s1).toBeCloseTo(970.14, 2);
    expect(s2).toBeCloseTo(4559.88, 2);
    // With the slip the score difference is not theta * gamma * (difference of squared distances).
    expect(Math.abs(s2 - s1 - 3 * GAMMA * 25.8)).toBeGreaterThan(1000);
  });
});
