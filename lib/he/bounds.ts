/**
 * The vector bounds every backend is sized for: the largest squared distance, the largest
 * blinded value a_max * dist2_max + b_max, and the checks on d, maxAbs and the blinding range
 * that come before each scheme's own bounds (she/params, bfv/params).
 */
import { InvalidParametersError } from '../core/errors';
import { validateBlindingRange } from './blinding';
import type { HeResolvedBounds, HeVectorBounds } from './types';

/** Largest squared distance d * (2 * maxAbs)^2 between two vectors in the box. */
export function dist2MaxOf(bounds: Pick<HeVectorBounds, 'd' | 'maxAbs'>): number {
  return bounds.d * (2 * bounds.maxAbs) ** 2;
}

/** Largest blinded value a_max * dist2_max + b_max, exactly. */
export function blindedMaxOf(bounds: HeResolvedBounds): bigint {
  const aMax = (1n << BigInt(bounds.aBits)) - 1n;
  const bMax = (1n << BigInt(bounds.bBits)) - 1n;
  return aMax * BigInt(dist2MaxOf(bounds)) + bMax;
}

/** log2 of a positive bigint, to one decimal, for error messages. */
export function log2Text(value: bigint): string {
  if (value <= 0n) return '-inf';
  const bits = value.toString(2).length;
  if (bits <= 53) return Math.log2(Number(value)).toFixed(1);
  const top = Number(value >> BigInt(bits - 53));
  return (Math.log2(top) + bits - 53).toFixed(1);
}

/** Checks d and maxAbs; the blinding range and the scheme-specific checks come after. */
export function validateDimensionBounds(bounds: HeVectorBounds): void {
  if (bounds === null || typeof bounds !== 'object') throw new InvalidParametersError('HE parameters: an object is required');
  const { d, maxAbs } = bounds;
  if (!Number.isInteger(d) || d < 1 || d > 65536) {
    throw new InvalidParametersError(`HE parameters: d = ${d} must be an integer in [1, 65536]`);
  }
  if (!Number.isInteger(maxAbs) || maxAbs < 1 || maxAbs > 1 << 24) {
    throw new InvalidParametersError(`HE parameters: maxAbs = ${maxAbs} must be an integer in [1, 2^24]`);
  }
  if (!Number.isSafeInteger(dist2MaxOf(bounds))) {
    throw new InvalidParametersError(
      `HE parameters: the largest squared distance d * (2 * maxAbs)^2 exceeds 2^53 for d = ${d}, maxAbs = ${maxAbs}; decrease maxAbs`,
    );
  }
}

/** Checks d, maxAbs and the (resolved) blinding range; the scheme-specific checks come after. */
export function validateVectorBounds(bounds: HeResolvedBounds): void {
  validateDimensionBounds(bounds);
  validateBlindingRange(bounds);
}
