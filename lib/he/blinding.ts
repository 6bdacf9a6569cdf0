/**
 * The monotone blinding y = a * x + b that CS1 applies to squared distances before CS2 sees
 * them (a > 0 keeps CS1's order and threshold test; CS2 learns neither the scale nor the offset).
 * The protocol layer draws a fresh blinding per query stage and unblinds CS2's values itself.
 *
 * Two value spaces (HeDescriptor.valueModulus):
 * - exact (she, modulus 0): b uniform in [0, 2^bBits). For one value and a fixed a, CS2's view
 *   of x and of x' differ by a statistical distance a |x - x'| / 2^bBits (uniform windows that
 *   overlap), so the hiding is bBits - aBits - log2(dist2Max) bits at worst (blindingLeakage).
 * - modular (bfv, modulus t): b uniform in [0, t), y = (a x + b) mod t is uniform whatever x:
 *   each value alone is perfectly hidden. CS1 still inverts exactly because a_max * dist2_max
 *   + b_max < t (checked when the key is made).
 */
import { DecryptionError, InvalidInputError, InvalidParametersError } from '../core/errors';
import { randomBigIntBelow } from './random';
import type { Blinding } from './types';

/** Default multiplier size: see HeVectorBounds.aBits. */
export const DEFAULT_A_BITS = 4;

export interface BlindingRange {
  /** a in [1, 2^aBits). */
  readonly aBits: number;
  /** b in [0, 2^bBits) for exact backends. */
  readonly bBits: number;
  /** > 0: values are residues mod this number and b is drawn uniform in [0, valueModulus). */
  readonly valueModulus?: number;
}

/** Sane sizes for bigint math; each scheme then bounds a_max * dist2_max + b_max itself. */
export function validateBlindingRange(range: BlindingRange): void {
  if (!Number.isInteger(range.aBits) || range.aBits < 1 || range.aBits > 255) {
    throw new InvalidParametersError(`blinding: aBits = ${range.aBits} must be an integer in [1, 255]`);
  }
  if (!Number.isInteger(range.bBits) || range.bBits < 0 || range.bBits > 255) {
    throw new InvalidParametersError(`blinding: bBits = ${range.bBits} must be an integer in [0, 255]`);
  }
  const modulus = range.valueModulus ?? 0;
  if (!Number.isSafeInteger(modulus) || modulus < 0) {
    throw new InvalidParametersError(`blinding: valueModulus = ${modulus} must be 0 or a positive safe integer`);
  }
}

/** Exclusive upper bound of an offset: t for modular backends, 2^bBits otherwise. */
export function offsetBound(range: BlindingRange): bigint {
  const modulus = range.valueModulus ?? 0;
  return modulus > 0 ? BigInt(modulus) : 1n << BigInt(range.bBits);
}

/** A fresh secret offset, uniform below offsetBound (node:crypto). */
export function drawOffset(range: BlindingRange): bigint {
  const bound = offsetBound(range);
  return bound === 1n ? 0n : randomBigIntBelow(bound);
}

/** Fresh secret blinding: a uniform in [1, 2^aBits), b uniform below offsetBound (node:crypto). */
export function drawBlinding(range: BlindingRange): Blinding {
  validateBlindingRange(range);
  const a = 1n + randomBigIntBelow((1n << BigInt(range.aBits)) - 1n);
  return { a, b: drawOffset(range) };
}

/** Throws InvalidInputError unless the blinding lies in the range the key was validated for. */
export function assertBlindingInRange(blinding: Blinding, range: BlindingRange): void {
  if (blinding === null || typeof blinding !== 'object') throw new InvalidInputError('blinding: { a, b } is required');
  const { a, b } = blinding;
  if (typeof a !== 'bigint' || typeof b !== 'bigint') {
    throw new InvalidInputError('blinding: a and b must be bigints');
  }
  if (a < 1n || a >= 1n << BigInt(range.aBits)) {
    throw new InvalidInputError(`blinding: a must lie in [1, 2^${range.aBits})`);
  }
  const modulus = range.valueModulus ?? 0;
  if (b < 0n || b >= offsetBound(range)) {
    throw new InvalidInputError(modulus > 0 ? `blinding: b must lie in [0, ${modulus})` : `blinding: b must lie in [0, 2^${range.bBits})`);
  }
}

/**
 * y = a * x + b, reduced mod valueModulus when there is one (what CS2 returns).
 * @internal The blinding itself, stated as a function so the tests check that unblind inverts it;
 * not called at run time (the backends compute it under encryption).
 */
export function blind(dist2: bigint, blinding: Blinding, valueModulus = 0): bigint {
  const y = blinding.a * dist2 + blinding.b;
  return valueModulus > 0 ? y % BigInt(valueModulus) : y;
}

/**
 * Inverts the blinding: x = (y - b) / a (with y - b taken mod valueModulus when there is one),
 * which must be an exact integer in [0, dist2Max]. Anything else means CS2 decrypted with
 * another key, or a batch was corrupted or swapped: a DecryptionError, never a silently wrong
 * distance. (Modular values: a garbage residue still passes with probability about
 * dist2Max / valueModulus per value; exact values: about dist2Max / 2^bBits.)
 */
export function unblind(value: bigint, blinding: Blinding, dist2Max: number, valueModulus = 0): number {
  let shifted = value - blinding.b;
  if (valueModulus > 0) {
    const modulus = BigInt(valueModulus);
    if (value < 0n || value >= modulus) {
      throw new DecryptionError('a returned value is not a residue of the value modulus (wrong key or corrupted batch)');
    }
    if (shifted < 0n) shifted += modulus;
  }
  if (shifted < 0n || shifted % blinding.a !== 0n) {
    throw new DecryptionError('a returned distance does not match the blinding (wrong key or corrupted batch)');
  }
  const dist2 = shifted / blinding.a;
  if (dist2 > BigInt(dist2Max)) {
    throw new DecryptionError('a returned distance exceeds the largest possible distance (wrong key or corrupted batch)');
  }
  return Number(dist2);
}

/**
 * Normalises a request's blinding to one multiplier and one offset per requested slot, checking
 * ranges and that an array shares a single a (a backend multiplies a whole batch by one a).
 */
export function resolveBatchBlinding(
  blinding: Blinding | readonly Blinding[],
  slotCount: number,
  range: BlindingRange,
): { a: bigint; b: bigint[] } {
  if (Array.isArray(blinding)) {
    const list = blinding as readonly Blinding[];
    if (list.length !== slotCount) {
      throw new InvalidInputError(`blinding: ${list.length} blindings for ${slotCount} slots (give one, or one per slot)`);
    }
    list.forEach((entry) => assertBlindingInRange(entry, range));
    const a = list[0].a;
    if (list.some((entry) => entry.a !== a)) {
      throw new InvalidInputError('blinding: all blindings of one batch must share the same a (only b may vary per value)');
    }
    return { a, b: list.map((entry) => entry.b) };
  }
  if (blinding === null || typeof blinding !== 'object') throw new InvalidInputError('blinding: { a, b } is required');
  const single = blinding as Blinding;
  assertBlindingInRange(single, range);
  return { a: single.a, b: new Array<bigint>(slotCount).fill(single.b) };
}

/** What a fresh offset per value hides from CS2 (documented in docs/threat-model.md). */
export interface BlindingLeakage {
  /**
   * Upper bound on the statistical distance between CS2's view of ONE blinded value for any
   * two squared distances in [0, dist2Max] (a_max * dist2Max / 2^bBits for exact backends,
   * 0 for modular ones). A batch of m values: at most m times this.
   */
  readonly perValueStatisticalDistance: number;
  /** -log2 of that bound (Infinity when perfect). */
  readonly hiddenBits: number;
}

/**
 * Leakage of per-value blinding for a key's descriptor (or any range with dist2Max).
 * @internal The bound docs/threat-model.md states, computed so the tests check that the default
 * parameters meet it; not called at run time.
 */
export function blindingLeakage(range: BlindingRange & { readonly dist2Max: number }): BlindingLeakage {
  if ((range.valueModulus ?? 0) > 0) return { perValueStatisticalDistance: 0, hiddenBits: Infinity };
  // a |x - x'| / 2^bBits <= a_max * dist2Max / 2^bBits, in log2 so that tiny bounds stay exact.
  const aMax = 2 ** range.aBits - 1;
  const log2Distance = Math.log2(aMax) + Math.log2(Math.max(1, range.dist2Max)) - range.bBits;
  const distance = Math.min(1, 2 ** log2Distance);
  return { perValueStatisticalDistance: distance, hiddenBits: distance >= 1 ? 0 : -log2Distance };
}
