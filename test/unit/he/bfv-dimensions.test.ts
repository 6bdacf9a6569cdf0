/**
 * Every dimension d in [1, 1024] either gets a working key or fails validation with an
 * InvalidParametersError that names the bound. Root cause of the old d = 100 / 128 failure:
 * SEAL's batching plain modulus of t bits IS the coefficient prime of t bits when the chain has
 * one (t of 38 bits = the 38-bit special prime of [60, 60, 60, 38]), and SEAL rejects a t that
 * is not coprime to q.
 */
import { describe, expect, it } from 'vitest';
import { InvalidParametersError } from '../../../lib/core/errors';
import { createHeBackend } from '../../../lib/he/index';
import type { BfvParameters } from '../../../lib/he/index';
import { MAX_PLAIN_MODULUS_BITS } from '../../../lib/he/bfv/mask';
import type { BfvProvider } from '../../../lib/he/bfv/provider';
import { BFV_MIN_NOISE_BUDGET, MIN_PLAIN_MODULUS_BITS, resolveBfvParameters } from '../../../lib/he/bfv/params';
import { acquireSealContext, plainModulusPrime, sealLibrary } from '../../../lib/he/bfv/seal';

const CHAINS: readonly { n: number; coeff: number[] }[] = [
  { n: 4096, coeff: [36, 36, 37] },
  { n: 8192, coeff: [60, 60, 60, 38] },
  { n: 16384, coeff: [60, 60, 60, 60, 60, 60, 60, 58] },
];

function coefficientPrimes(seal: Awaited<ReturnType<typeof sealLibrary>>, n: number, coeff: number[]): Set<bigint> {
  const primes = seal.CoeffModulus.Create(n, Int32Array.from(coeff));
  const out = new Set(Array.from(primes.toArray() as BigUint64Array, (q) => BigInt(q)));
  primes.delete();
  return out;
}

describe('bfv plain modulus', () => {
  it('is a batching prime of the requested size that is never a coefficient prime', async () => {
    const seal = await sealLibrary();
    for (const { n, coeff } of CHAINS) {
      const taken = coefficientPrimes(seal, n, coeff);
      for (let bits = MIN_PLAIN_MODULUS_BITS; bits <= MAX_PLAIN_MODULUS_BITS; bits++) {
        const t = plainModulusPrime(seal, { scheme: 'bgv', polyModulusDegree: n, coeffModulusBits: coeff, plainModulusBits: bits });
        expect(t.toString(2).length).toBe(bits);
        expect(t % BigInt(2 * n)).toBe(1n);
        expect(taken.has(t)).toBe(false);
        // Same t as SEAL's Batching whenever that one is free (keys made before keep their t).
        const batching = seal.PlainModulus.Batching(n, bits);
        if (!taken.has(batching.value)) expect(t).toBe(batching.value);
        else expect(coeff).toContain(bits); // the collision only happens at a coefficient prime's size
        batching.delete();
      }
    }
  });

  it('gives SEAL contexts at the sizes that used to collide (38 bits at N = 8192, 36 and 37 at N = 4096)', async () => {
    const seal = await sealLibrary();
    for (const [n, coeff, bits] of [
      [8192, [60, 60, 60, 38], 38],
      [4096, [36, 36, 37], 36],
      [4096, [36, 36, 37], 37],
    ] as const) {
      const ctx = acquireSealContext(seal, { scheme: 'bgv', polyModulusDegree: n, coeffModulusBits: coeff, plainModulusBits: bits });
      expect(ctx.context.parametersSet()).toBe(true);
      expect(Math.floor(Math.log2(ctx.t)) + 1).toBe(bits);
      ctx.dispose();
    }
  });
});

describe('bfv dimensions 1..1024', () => {
  const shapes: readonly Omit<BfvParameters, 'd'>[] = [
    { maxAbs: 1000 }, // defaults
    { maxAbs: 1000, aBits: 8, bBits: 16 },
    { maxAbs: 1000, aBits: 16, bBits: 32 },
    { maxAbs: 1000, aBits: 20, bBits: 24 }, // too large for t <= 2^52 from some d on
  ];

  it('resolve to a plain modulus of at most 52 bits, or fail naming the plain modulus bound', () => {
    let rejected = 0;
    for (const shape of shapes) {
      for (let d = 1; d <= 1024; d++) {
        try {
          const resolved = resolveBfvParameters({ ...shape, d });
          expect(resolved.plainModulusBits).toBeGreaterThanOrEqual(MIN_PLAIN_MODULUS_BITS);
          expect(resolved.plainModulusBits).toBeLessThanOrEqual(MAX_PLAIN_MODULUS_BITS);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidParametersError);
          expect((error as Error).message).toMatch(/plain modulus bound: t needs \d+ bits > 52/);
          rejected++;
        }
      }
    }
    // aBits 20 + bBits 24 fails from d ~ 2^(52 - 1 - 20 - 22) on; everything else resolves.
    expect(rejected).toBeGreaterThan(0);
    expect(rejected).toBeLessThan(1024);
  });

  it('makes a working key at the smallest and largest plain modulus the default blinding needs (d = 1..1024)', async () => {
    // The noise budget depends on N, the chain and t only, and shrinks as t grows: a key at the
    // largest t (d = 1024) and at the smallest (d = 1) bracket every d in between.
    const bits = Array.from({ length: 1024 }, (_, i) => resolveBfvParameters({ d: i + 1, maxAbs: 1000 }).plainModulusBits);
    expect(bits[0]).toBe(Math.min(...bits));
    expect(bits[1023]).toBe(Math.max(...bits));
    expect(bits[1023] - bits[0]).toBeGreaterThan(5);
    for (const d of [1, 1024]) {
      const provider = await createHeBackend('bfv', { d, maxAbs: 1000 });
      expect(provider.descriptor.vectorsPerRecord).toBe(Math.floor(8192 / d));
      expect((provider as BfvProvider).outputLayout.noiseBudget).toBeGreaterThanOrEqual(BFV_MIN_NOISE_BUDGET);
      provider.dispose();
    }
  });
});
