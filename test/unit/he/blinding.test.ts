import { describe, expect, it } from 'vitest';
import { DecryptionError, InvalidInputError, InvalidParametersError } from '../../../lib/core/errors';
import { assertBlindingInRange, blind, drawBlinding, resolveBatchBlinding, unblind, validateBlindingRange } from '../../../lib/he/blinding';

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
});
