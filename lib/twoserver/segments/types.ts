/**
 * Learned index over the sorted iDistance keys: piecewise-linear segments that map a key to its
 * storage position with a bounded error eps (FITing-tree; PGM-index for the optimal variant).
 *
 * Duplicate keys. Equal keys occupy a run of positions, and a vertical run longer than 2*eps
 * cannot be fitted by one line. The segments therefore fit, for every DISTINCT key k, the
 * position of its FIRST occurrence, first(k) (the rank "number of keys < k"):
 *   |predict(k) - first(k)| <= eps            for every distinct key k of the segment.
 * Each segment also stores `maxRun`, the longest run of equal keys inside it, so a lookup can
 * reach past the last copy of a key: see lookup.ts for the range guarantee. Without duplicates
 * maxRun = 1 and a lookup window is the usual [p - eps, p + eps + 1).
 */

/** 'fiting': the paper's greedy shrinking cone; 'optimal': fewest segments for the same eps. */
export type SegmentationMethod = 'fiting' | 'optimal';

export const SEGMENTATION_METHODS: readonly SegmentationMethod[] = ['fiting', 'optimal'];

/**
 * The segments of one sorted key array, stored column-wise (typed arrays keep a million-key
 * index compact and the binary search over first keys cache-friendly). Segment s predicts
 * position intercepts[s] + slopes[s] * (x - firstKeys[s]) for firstKeys[s] <= x < firstKeys[s + 1].
 */
export interface SegmentIndex {
  readonly method: SegmentationMethod;
  /** Error bound (integer >= 0). */
  readonly eps: number;
  /** Number of keys (positions 0..n-1). */
  readonly n: number;
  /** Smallest key each segment covers (a key of the data). */
  readonly firstKeys: Float64Array;
  /** Positions per key unit; always >= 0, so predictions are monotone in the key. */
  readonly slopes: Float64Array;
  /** Predicted position at the first key. */
  readonly intercepts: Float64Array;
  /** Position of the first occurrence of the first key: segment s covers positions [starts[s], starts[s + 1]). */
  readonly starts: Uint32Array;
  /** Longest run of equal keys inside each segment (>= 1). */
  readonly maxRuns: Uint32Array;
}

/** Half-open position range [start, end); empty when start === end. */
export interface PositionRange {
  readonly start: number;
  readonly end: number;
}

/**
 * A line over a run of distinct keys, as a segmentation algorithm returns it: it covers distinct
 * keys [from, end) and predicts intercept + slope * (x - xs[from]).
 */
export interface LineFit {
  readonly end: number;
  readonly slope: number;
  readonly intercept: number;
}

/**
 * A segmentation algorithm: the longest line it can fit from distinct key `from` with error eps
 * over the points (xs[i], ys[i]) (xs strictly increasing, ys strictly increasing). Must cover at
 * least one key and return a slope >= 0.
 */
export type LineFitter = (xs: Float64Array, ys: Float64Array, from: number, eps: number) => LineFit;
