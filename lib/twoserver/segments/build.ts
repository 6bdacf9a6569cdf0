/**
 * Builds the segments of a sorted key array with either segmentation (see types.ts for the
 * duplicate-key rule). Every fitted line is re-checked key by key with the exact float
 * expression lookups use (line.ts); a line that fails (only conceivable for pathological float
 * ranges) is cut before the failing key and fitting resumes there, so the error bound holds
 * for every key whatever the arithmetic did.
 */
import { InvalidInputError, InvalidParametersError } from '../../core/errors';
import { fitTolerance, predictOnLine } from './line';
import { fitOptimalHull } from './optimal-hull';
import { fitShrinkingCone } from './shrinking-cone';
import { SEGMENTATION_METHODS } from './types';
import type { LineFitter, SegmentationMethod, SegmentIndex } from './types';

/** Positions are stored as u32. */
export const MAX_KEYS = 0xffffffff;
/** Larger bounds make every lookup window cover most of any realistic index. */
export const MAX_EPS = 1 << 24;

export interface SegmentOptions {
  /** Error bound in positions: an integer >= 0 (0 only fits exactly collinear keys together). */
  readonly eps: number;
  /** Default 'optimal' (fewest segments); 'fiting' is the paper's greedy FITing-tree. */
  readonly method?: SegmentationMethod;
}

const FITTERS: Record<SegmentationMethod, LineFitter> = {
  fiting: fitShrinkingCone,
  optimal: fitOptimalHull,
};

export function validateSegmentOptions(options: SegmentOptions): SegmentationMethod {
  if (options === null || typeof options !== 'object') throw new InvalidParametersError('segments: options are required');
  const { eps } = options;
  if (!Number.isInteger(eps) || eps < 0 || eps > MAX_EPS) {
    throw new InvalidParametersError(`segments: eps = ${eps} must be an integer in [0, ${MAX_EPS}]`);
  }
  const method = options.method ?? 'optimal';
  if (!SEGMENTATION_METHODS.includes(method)) {
    throw new InvalidParametersError(`segments: method "${String(method)}" must be one of ${SEGMENTATION_METHODS.join(', ')}`);
  }
  return method;
}

/** Distinct keys with the position of their first occurrence and the length of their run. */
interface DistinctKeys {
  readonly xs: Float64Array;
  readonly firsts: Float64Array;
  readonly runs: Uint32Array;
}

function distinctKeys(keys: ArrayLike<number>): DistinctKeys {
  const n = keys.length;
  if (n > MAX_KEYS) throw new InvalidInputError(`segments: ${n} keys exceed the limit of ${MAX_KEYS}`);
  let distinct = 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    if (!Number.isFinite(k)) throw new InvalidInputError(`segments: key ${i} is not a finite number`);
    if (i > 0 && k < keys[i - 1]) throw new InvalidInputError(`segments: keys must be sorted ascending (key ${i} is smaller than key ${i - 1})`);
    if (i === 0 || k !== keys[i - 1]) distinct++;
  }
  const xs = new Float64Array(distinct);
  const firsts = new Float64Array(distinct);
  const runs = new Uint32Array(distinct);
  let j = -1;
  for (let i = 0; i < n; i++) {
    if (i === 0 || keys[i] !== keys[i - 1]) {
      j++;
      xs[j] = keys[i];
      firsts[j] = i;
    }
    runs[j]++;
  }
  return { xs, firsts, runs };
}

/** First distinct key in [from, fit.end) whose verified error exceeds eps (fit.end if none). */
function verifiedEnd(xs: Float64Array, ys: Float64Array, from: number, end: number, slope: number, intercept: number, limit: number): number {
  if (!(slope >= 0) || !Number.isFinite(slope) || !Number.isFinite(intercept)) return from;
  const firstKey = xs[from];
  for (let j = from; j < end; j++) {
    if (!(Math.abs(predictOnLine(firstKey, slope, intercept, xs[j]) - ys[j]) <= limit)) return j;
  }
  return end;
}

class GrowableSegments {
  firstKeys: number[] = [];
  slopes: number[] = [];
  intercepts: number[] = [];
  starts: number[] = [];
  maxRuns: number[] = [];

  push(firstKey: number, slope: number, intercept: number, start: number, maxRun: number): void {
    this.firstKeys.push(firstKey);
    this.slopes.push(slope);
    this.intercepts.push(intercept);
    this.starts.push(start);
    this.maxRuns.push(maxRun);
  }
}

/**
 * Segments of `keys` (sorted ascending, finite; duplicates allowed). Throws InvalidInputError for
 * NaN, infinite or unsorted keys and InvalidParametersError for a bad eps or method.
 */
export function buildSegmentIndex(keys: ArrayLike<number>, options: SegmentOptions): SegmentIndex {
  const method = validateSegmentOptions(options);
  const { eps } = options;
  const { xs, firsts, runs } = distinctKeys(keys);
  const fitter = FITTERS[method];
  const limit = eps + fitTolerance(keys.length);
  const out = new GrowableSegments();
  let from = 0;
  while (from < xs.length) {
    const fit = fitter(xs, firsts, from, eps);
    let end = verifiedEnd(xs, firsts, from, Math.min(fit.end, xs.length), fit.slope, fit.intercept, limit);
    let slope = fit.slope;
    let intercept = fit.intercept;
    if (end === from) {
      // Not even the first key verified: a one-key segment predicts it exactly.
      end = from + 1;
      slope = 0;
      intercept = firsts[from];
    }
    let maxRun = 1;
    for (let j = from; j < end; j++) if (runs[j] > maxRun) maxRun = runs[j];
    out.push(xs[from], slope, intercept, firsts[from], maxRun);
    from = end;
  }
  return {
    method,
    eps,
    n: keys.length,
    firstKeys: Float64Array.from(out.firstKeys),
    slopes: Float64Array.from(out.slopes),
    intercepts: Float64Array.from(out.intercepts),
    starts: Uint32Array.from(out.starts),
    maxRuns: Uint32Array.from(out.maxRuns),
  };
}

export function segmentCount(index: SegmentIndex): number {
  return index.firstKeys.length;
}
