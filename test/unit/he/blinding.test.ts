import { describe, expect, it } from 'vitest';
import { DecryptionError, InvalidInputError, InvalidParametersError } from '../../../lib/core/errors';
import {
  assertBlindingInRange,
  blind,
  blindingLeakage,
  drawBlinding,
  drawOffset,
  resolveBatchBlinding,
  unblind,
  validateBlindingRange,
} from '../../../lib/he/blinding';

describe('blinding y = a x + b', () => {
  const range = { aBits: 8, bBits: 12 };

  it('draws a in [1, 2^aBits) and b in [0, 2^bBits), covering the range', () => {
    const as = new Set<bigint>();
    for (let i = 0; i < 3000; i++) {
      const { a, b } = drawBlinding(range);
      expect(a >= 1n && a < 256n).toBe(true);
      expect(b >= 0n && b < 4096n).toBe(true);
      as.add(a);
    }
    expect(as.size).toBeGreaterThan(240);
    expect(drawBlinding({ aBits: 1, bBits: 0 })).toEqual({ a: 1n, b: 0n });
  });

  it('unblinds exactly, and rejects values that do not come from the blinding', () => {
    const blinding = { a: 37n, b: 1000n };
    expect(unblind(blind(12345n, blinding), blinding, 20000)).toBe(12345);
    expect(unblind(blind(0n, blinding), blinding, 20000)).toBe(0);
    expect(() => unblind(blind(12345n, blinding) + 1n, blinding, 20000)).toThrow(DecryptionError);
    expect(() => unblind(999n, blinding, 20000)).toThrow(DecryptionError);
    expect(() => unblind(blind(20001n, blinding), blinding, 20000)).toThrow(DecryptionError);
  });

  it('validates ranges', () => {
    expect(() => validateBlindingRange({ aBits: 0, bBits: 1 })).toThrow(InvalidParametersError);
    expect(() => validateBlindingRange({ aBits: 256, bBits: 1 })).toThrow(InvalidParametersError);
    expect(() => assertBlindingInRange({ a: 256n, b: 0n }, range)).toThrow(InvalidInputError);
    expect(() => assertBlindingInRange({ a: 1n, b: 4096n }, range)).toThrow(InvalidInputError);
    expect(() => assertBlindingInRange({ a: 1 as unknown as bigint, b: 0n }, range)).toThrow(InvalidInputError);
  });

  it('resolves one blinding or one per slot sharing a', () => {
    expect(resolveBatchBlinding({ a: 3n, b: 4n }, 2, range)).toEqual({ a: 3n, b: [4n, 4n] });
    expect(resolveBatchBlinding([{ a: 3n, b: 4n }, { a: 3n, b: 9n }], 2, range)).toEqual({ a: 3n, b: [4n, 9n] });
    expect(() => resolveBatchBlinding([{ a: 3n, b: 4n }, { a: 5n, b: 9n }], 2, range)).toThrow(/share the same a/);
    expect(() => resolveBatchBlinding([{ a: 3n, b: 4n }], 2, range)).toThrow(InvalidInputError);
  });

  it('modular values: b uniform mod t, y = (a x + b) mod t, unblinded exactly through the wrap', () => {
    const t = 1_000_003; // any modulus > a_max * dist2Max + b_max works for the arithmetic
    const range = { aBits: 4, bBits: 0, valueModulus: t };
    let upper = 0;
    for (let i = 0; i < 4000; i++) {
      const b = drawOffset(range);
      expect(b >= 0n && b < BigInt(t)).toBe(true);
      if (b >= BigInt(Math.floor(t / 2))) upper++;
      const blinding = { a: 15n, b };
      const y = blind(60000n, blinding, t);
      expect(y >= 0n && y < BigInt(t)).toBe(true);
      expect(unblind(y, blinding, 65000, t)).toBe(60000);
    }
    // Offsets cover the whole residue range, not [0, 2^bBits) = {0}.
    expect(upper / 4000).toBeGreaterThan(0.45);
    expect(upper / 4000).toBeLessThan(0.55);
    // Wrap-around: a x + b >= t.
    expect(unblind(blind(65000n, { a: 15n, b: BigInt(t - 1) }, t), { a: 15n, b: BigInt(t - 1) }, 65000, t)).toBe(65000);
    expect(() => assertBlindingInRange({ a: 1n, b: BigInt(t) }, range)).toThrow(InvalidInputError);
    expect(() => assertBlindingInRange({ a: 1n, b: BigInt(t - 1) }, range)).not.toThrow();
    // A value that is not a residue, or lands outside [0, dist2Max], is a decryption error.
    expect(() => unblind(BigInt(t), { a: 1n, b: 0n }, 65000, t)).toThrow(DecryptionError);
    expect(() => unblind(70000n, { a: 1n, b: 0n }, 65000, t)).toThrow(DecryptionError);
  });

  it('quantifies what per-value offsets hide', () => {
    // she at the paper's k2 = 80 with the defaults: d = 512, maxAbs 999, aBits 4, bBits 77.
    const dist2Max = 512 * 1998 ** 2;
    const she = blindingLeakage({ aBits: 4, bBits: 77, dist2Max });
    expect(she.hiddenBits).toBeCloseTo(77 - Math.log2(15) - Math.log2(dist2Max), 6);
    expect(she.hiddenBits).toBeGreaterThan(42);
    // The old bfv-era sizes (aBits 8, bBits 16) hid nothing: the offset window is smaller than a x.
    expect(blindingLeakage({ aBits: 8, bBits: 16, dist2Max }).hiddenBits).toBe(0);
    expect(blindingLeakage({ aBits: 8, bBits: 16, dist2Max }).perValueStatisticalDistance).toBe(1);
    // Offsets uniform mod t: perfect.
    expect(blindingLeakage({ aBits: 4, bBits: 0, valueModulus: 68719230977, dist2Max })).toEqual({ perValueStatisticalDistance: 0, hiddenBits: Infinity });
  });
});
