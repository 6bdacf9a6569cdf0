/**
 * The monotone blinding y = a * x + b that CS1 applies to squared distances before CS2 sees
 * them (a > 0 keeps CS1's order and threshold test; CS2 learns neither the scale nor the offset).
 * The protocol layer draws a fresh blinding per query stage and unblinds CS2's values itself.
 */
import { DecryptionError, InvalidInputError, InvalidParametersError } from '../core/errors';
import { randomBigIntBelow } from './random';
import type { Blinding } from './types';

export interface BlindingRange {
  /** a in [1, 2^aBits). */
  readonly aBits: number;
  /** b in [0, 2^bBits). */
  readonly bBits: number;
}

/** Sane sizes for bigint math; each scheme then bounds a_max * dist2_max + b_max itself. */
export function validateBlindingRange(range: BlindingRange): void {
  if (!Number.isInteger(range.aBits) || range.aBits < 1 || range.aBits > 255) {
    throw new InvalidParametersError(`blinding: aBits = ${range.aBits} must be an integer in [1, 255]`);
  }
  if (!Number.isInteger(range.bBits) || range.bBits < 0 || range.bBits > 255) {
    throw new InvalidParametersError(`blinding: bBits = ${range.bBits} must be an integer in [0, 255]`);
  }
}

/** Fresh secret blinding: a uniform in [1, 2^aBits), b uniform in [0, 2^bBits) (node:crypto). */
export function drawBlinding(range: BlindingRange): Blinding {
  validateBlindingRange(range);
  const a = 1n + randomBigIntBelow((1n << BigInt(range.aBits)) - 1n);
  const b = range.bBits === 0 ? 0n : randomBigIntBelow(1n << BigInt(range.bBits));
  return { a, b };
}

/** Throws InvalidInputError unless the blinding lies in the range the key was validated for. */
export function assertBlindingInRange(blinding: Blinding, range: BlindingRange): void {
  const { a, b } = blinding;
  if (typeof a !== 'bigint' || typeof b !== 'bigint') {
    throw new InvalidInputError('blinding: a and b must be bigints');
  }
  if (a < 1n || a >= 1n << BigInt(range.aBits)) {
    throw new InvalidInputError(`blinding: a must lie in [1, 2^${range.aBits})`);
  }
  if (b < 0n || b >= 1n << BigInt(range.bBits)) {
    throw new InvalidInputError(`blinding: b must lie in [0, 2^${range.bBits})`);
  }
}

/** y = a * x + b. */
export function blind(dist2: bigint, blinding: Blinding): bigint {
  return blinding.a * dist2 + blinding.b;
}

/**
 * Inverts the blinding: x = (y - b) / a, which must be an exact integer in [0, dist2Max].
 * Anything else means CS2 decrypted with another key, or a batch was corrupted or swapped:
 * a DecryptionError, never a silently wrong distance.
 */
export function unblind(value: bigint, blinding: Blinding, dist2Max: number): number {
  const shifted = value - blinding.b;
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
