/**
 * The documented weakness of SHE (docs/threat-model.md, "Two-server identification"): a curious
 * CS1 holding N (its evaluation material) and ONE stored ciphertext factors N with a 4-dimensional
 * lattice, then reads L off the public E(0)/E(1) and decrypts every template and every query.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lib/core/random';
import { vectorSet } from '../../support/vectors';
import { loadSheClient } from '../../../lib/he/she/client';
import { sheCiphertextBytes } from '../../../lib/he/she/formats';
import { createSheProvider } from '../../../lib/he/she/provider';
import { sheDecrypt } from '../../../lib/he/she/scheme';
import type { SheParameters } from '../../../lib/he/types';
import { gcd, isqrt, lllReduce } from './support/lll';
import { coppersmithLattice, integerRoots, recoverL, recoverPrime } from './support/she-attack';

/** Fixed-width big-endian values at `offset`. */
function readValues(bytes: Uint8Array, offset: number, count: number, width: number): bigint[] {
  return Array.from({ length: count }, (_, i) => BigInt(`0x${Buffer.from(bytes.subarray(offset + i * width, offset + (i + 1) * width)).toString('hex')}`));
}

/** Gram-Schmidt in exact rationals (num/den pairs) to check the LLL conditions independently. */
function lllConditionsHold(basis: bigint[][], delta: number): boolean {
  const n = basis.length;
  const toNum = (v: bigint[]): number[] => v.map(Number);
  const rows = basis.map(toNum);
  const star: number[][] = [];
  const mu: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const dotN = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i], 0);
  for (let i = 0; i < n; i++) {
    const v = [...rows[i]];
    for (let j = 0; j < i; j++) {
      mu[i][j] = dotN(rows[i], star[j]) / dotN(star[j], star[j]);
      for (let k = 0; k < v.length; k++) v[k] -= mu[i][j] * star[j][k];
    }
    star.push(v);
  }
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) if (Math.abs(mu[i][j]) > 0.5 + 1e-9) return false;
    const lhs = dotN(star[i], star[i]);
    const rhs = (delta - mu[i][i - 1] ** 2) * dotN(star[i - 1], star[i - 1]);
    if (lhs < rhs - 1e-6 * Math.abs(rhs)) return false;
  }
  return true;
}

function det3(m: bigint[][]): bigint {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}

describe('integral LLL (test support)', () => {
  it('reduces a textbook basis: same lattice, size-reduced, Lovász condition', () => {
    const basis = [
      [1n, 1n, 1n],
      [-1n, 0n, 2n],
      [3n, 5n, 6n],
    ];
    const reduced = lllReduce(basis, 3n, 4n);
    expect(reduced).toEqual([
      [0n, 1n, 0n],
      [1n, 0n, 1n],
      [-1n, 0n, 2n],
    ]);
    expect(det3(reduced) ** 2n).toBe(det3(basis) ** 2n);
    expect(lllConditionsHold(reduced, 0.75)).toBe(true);
  });

  it('finds short vectors in random 5-dimensional lattices and keeps the determinant', () => {
    const random = seededRandom(3);
    for (let trial = 0; trial < 5; trial++) {
      const basis = Array.from({ length: 5 }, () => Array.from({ length: 5 }, () => BigInt(random.int(2001) - 1000)));
      const reduced = lllReduce(basis);
      expect(lllConditionsHold(reduced, 0.99)).toBe(true);
      const norm = (v: bigint[]): bigint => v.reduce((s, x) => s + x * x, 0n);
      expect(norm(reduced[0]) <= Math.min(...basis.map((v) => Number(norm(v))))).toBe(true);
    }
  });

  it('isqrt and gcd', () => {
    expect(isqrt(10n ** 40n + 5n)).toBe(10n ** 20n);
    expect(isqrt(15n)).toBe(3n);
    expect(gcd(-12n, 18n)).toBe(6n);
  });

  it('integer roots of a cubic with three roots', () => {
    // (x - 3)(x - 1000)(x + 7) = x^3 - 996 x^2 - 4021 x + 21000
    expect(integerRoots([21000n, -4021n, -996n, 1n], -100n, 2000n).sort((a, b) => Number(a - b))).toEqual([-7n, 3n, 1000n]);
  });
});

function attack(params: SheParameters): void {
  const provider = createSheProvider(params);
  const { d, maxAbs } = params;
  const random = seededRandom(11);
  const templates = vectorSet(3, d, Float64Array.from({ length: 3 * d }, () => random.int(2 * maxAbs + 1) - maxAbs));
  const records = provider.encryptRecords(templates);
  const publicMaterial = provider.exportPublic();
  const width = sheCiphertextBytes(params.k0);
  // Public material: 31-byte header, then N, E(1), E(0) x publicZeros (all public).
  const [N, one, ...zeros] = readValues(publicMaterial, 31, 2 + (params.publicZeros ?? 2), width);
  // CS1's view: N and the stored records. ONE ciphertext: coordinate 0 of template 0.
  const [c] = readValues(records, 14, 1, width);

  const p = recoverPrime(N, c, 2 * params.k2 + 2);
  expect(p).toBeDefined();
  const prime = p as bigint;
  expect(N % prime).toBe(0n);
  expect(prime > 1n && prime < N).toBe(true);

  const record0 = readValues(records, 14, d, width);
  const plausible = (L: bigint): boolean => record0.every((ct) => {
    const m = sheDecrypt({ p: prime, L }, ct);
    return m >= BigInt(-maxAbs) && m <= BigInt(maxAbs);
  });
  const L = recoverL(prime, zeros, [one], params.k2, plausible);
  expect(L).toBeDefined();

  // Every template and a fresh client query decrypt.
  const recordBytes = provider.descriptor.recordBytes;
  for (let i = 0; i < templates.n; i++) {
    const cts = readValues(records, i * recordBytes + 14, d, width);
    expect(cts.map((ct) => Number(sheDecrypt({ p: prime, L: L as bigint }, ct)))).toEqual(Array.from(templates.data.subarray(i * d, (i + 1) * d)));
  }
  const query = Array.from({ length: d }, () => random.int(2 * maxAbs + 1) - maxAbs);
  const queryBytes = loadSheClient(publicMaterial).encryptQuery(query);
  expect(readValues(queryBytes, 14, d, width).map((ct) => Number(sheDecrypt({ p: prime, L: L as bigint }, ct)))).toEqual(query);
}

describe('SHE lattice attack: N and one ciphertext reveal p, then everything', () => {
  it('breaks k0 = 256, k2 = 32', () => {
    attack({ k0: 256, k1: 12, k2: 32, d: 8, maxAbs: 1000, aBits: 2, bBits: 8 });
  });

  it('breaks k0 = 512, k2 = 60 (the parameters of the contract tests)', () => {
    attack({ k0: 512, k1: 24, k2: 60, d: 16, maxAbs: 1000, aBits: 16, bBits: 32 });
  });

  it("breaks the paper's parameters (1024, 30, 80): N of 2048 bits, in about a second", () => {
    attack({ k0: 1024, k1: 30, k2: 80, d: 4, maxAbs: 1000, aBits: 16, bBits: 40 });
  });

  it('the lattice is the documented one: det = N^3 X^6', () => {
    const N = 1000003n * 1000033n;
    const X = 1n << 10n;
    const rows = coppersmithLattice(N, 123456789n, X);
    // Lower-triangular: the determinant is the product of the diagonal.
    expect(rows[0][0] * rows[1][1] * rows[2][2] * rows[3][3]).toBe(N ** 3n * X ** 6n);
  });
});
