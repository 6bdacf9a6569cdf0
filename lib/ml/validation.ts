/**
 * Argument checks shared by the ML algorithms. Bad data (NaN, wrong buffer length) is an
 * InvalidInputError; options that cannot work (k > n, damping 1) are InvalidParametersError.
 * Messages name the position of a bad value, never the value itself.
 */
import { DimensionMismatchError, InvalidInputError, InvalidParametersError } from '../core/errors';
import type { VectorSet } from '../linalg/vectors';

/** Checks n, d and the buffer length, and that every coordinate is finite. */
export function assertVectorSet(set: VectorSet, what: string, minCount = 1): void {
  if (!Number.isSafeInteger(set.n) || set.n < 0) throw new InvalidInputError(`${what}: n must be a non-negative integer`);
  if (!Number.isSafeInteger(set.d) || set.d < 1) throw new InvalidInputError(`${what}: d must be a positive integer`);
  if (!(set.data instanceof Float64Array)) throw new InvalidInputError(`${what}: data must be a Float64Array`);
  if (set.data.length !== set.n * set.d) throw new DimensionMismatchError(`${what} buffer`, set.n * set.d, set.data.length);
  if (set.n < minCount) {
    throw new InvalidInputError(`${what}: at least ${minCount} vector${minCount === 1 ? ' is' : 's are'} required, got ${set.n}`);
  }
  const data = set.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new InvalidInputError(`${what}[${Math.floor(i / set.d)}][${i % set.d}] is not a finite number`);
    }
  }
}

/** An integer option in [min, max]. */
export function checkInteger(value: number, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new InvalidParametersError(`${what} must be an integer ${range}, got ${String(value)}`);
  }
  return value;
}

/** A finite number option. */
export function checkFinite(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidParametersError(`${what} must be a finite number, got ${String(value)}`);
  }
  return value;
}
