/**
 * Lookups on the segments: which positions can hold keys in [keyLo, keyHi].
 *
 * Guarantee: positionRange returns [start, end) containing every position whose key lies in
 * [keyLo, keyHi]. Why, with first(k) the first position of key k and predict monotone (slope
 * >= 0) and within eps of first(k) for every key of its segment (build.ts verifies it):
 * - start. The first wanted position is first(k) for the smallest key k >= keyLo. If k is in
 *   the segment s that keyLo falls in, predict(keyLo) <= predict(k) <= first(k) + eps, so
 *   floor(predict(keyLo) - eps) <= first(k) (float slack < 1 is absorbed by the floor). If k is
 *   in a later segment, first(k) = start of segment s+1, and clamping to [start_s, start_s+1]
 *   keeps the bound.
 * - end. The position after the last wanted one is first(k) + run(k) for the largest key
 *   k <= keyHi, which is in keyHi's segment s: predict(keyHi) >= predict(k) >= first(k) - eps
 *   and run(k) <= maxRun_s, so ceil(predict(keyHi) + eps + maxRun_s) >= first(k) + run(k).
 *   Without duplicates maxRun = 1: the window [p - eps, p + eps + 1) of the PGM-index.
 * Every bound is also clamped to the positions segment s covers, which is always correct
 * (keys in [firstKey_s, firstKey_s+1) occupy exactly [start_s, start_s+1)).
 */
import { InvalidInputError } from '../../core/errors';
import { predictOnLine } from './line';
import type { PositionRange, SegmentIndex } from './types';

/** Largest s with firstKeys[s] <= x, or -1 when x is below every key. */
export function segmentOf(index: SegmentIndex, x: number): number {
  const keys = index.firstKeys;
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function segmentEnd(index: SegmentIndex, s: number): number {
  return s + 1 < index.starts.length ? index.starts[s + 1] : index.n;
}

/** Predicted (fractional) position of `key` by the segment covering it; -1 segment gives 0. */
export function predictPosition(index: SegmentIndex, key: number): number {
  assertKey(key, 'key');
  const s = segmentOf(index, key);
  if (s < 0) return 0;
  return predictOnLine(index.firstKeys[s], index.slopes[s], index.intercepts[s], key);
}

function clamp(value: number, lo: number, hi: number): number {
  return value < lo ? lo : value > hi ? hi : value;
}

/** A position <= the first position holding a key >= keyLo. */
function lowerPosition(index: SegmentIndex, keyLo: number): number {
  if (keyLo === Number.NEGATIVE_INFINITY) return 0;
  const s = segmentOf(index, keyLo);
  if (s < 0) return 0;
  const predicted = predictOnLine(index.firstKeys[s], index.slopes[s], index.intercepts[s], keyLo);
  // NaN only from 0 * overflow at absurd keys: fall back to the segment's whole range.
  if (Number.isNaN(predicted)) return index.starts[s];
  return clamp(Math.floor(predicted - index.eps), index.starts[s], segmentEnd(index, s));
}

/** A position >= one past the last position holding a key <= keyHi. */
function upperPosition(index: SegmentIndex, keyHi: number): number {
  if (keyHi === Number.POSITIVE_INFINITY) return index.n;
  const s = segmentOf(index, keyHi);
  if (s < 0) return 0;
  const predicted = predictOnLine(index.firstKeys[s], index.slopes[s], index.intercepts[s], keyHi);
  if (Number.isNaN(predicted)) return segmentEnd(index, s);
  return clamp(Math.ceil(predicted + index.eps + index.maxRuns[s]), index.starts[s], segmentEnd(index, s));
}

function assertKey(value: number, what: string): void {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new InvalidInputError(`segments: ${what} must be a number (not NaN)`);
}

/**
 * Positions [start, end) that contain every key in [keyLo, keyHi] (infinite bounds allowed).
 * Empty (start === end) when keyLo > keyHi or the index is empty.
 */
export function positionRange(index: SegmentIndex, keyLo: number, keyHi: number): PositionRange {
  assertKey(keyLo, 'keyLo');
  assertKey(keyHi, 'keyHi');
  if (index.n === 0 || keyLo > keyHi || keyLo === Number.POSITIVE_INFINITY || keyHi === Number.NEGATIVE_INFINITY) {
    return { start: 0, end: 0 };
  }
  const start = lowerPosition(index, keyLo);
  const end = upperPosition(index, keyHi);
  return end > start ? { start, end } : { start, end: start };
}
