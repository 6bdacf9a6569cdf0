/**
 * Optimal piecewise-linear segmentation for an error bound eps: the idea of the PGM-index
 * (Ferragina and Vinciguerra, VLDB 2020), which streams O'Rourke's (1981) on-line algorithm for
 * fitting a line between data ranges. Written from the published description, not from code.
 *
 * Each point (x, y) becomes a vertical range: a lower point L = (x, y - eps) and an upper point
 * U = (x, y + eps). A line fits a run of points iff it passes above every L and below every U.
 * The feasible lines form a convex set; for x to the right of every point seen, its highest
 * value is reached by the steepest feasible line (it touches an L on the left and a U on the
 * right) and its lowest value by the flattest one (a U on the left, an L on the right). So a new
 * point is feasible iff its range meets [flattest(x), steepest(x)], and only then do the two
 * extreme lines pivot:
 * - if U is below the steepest line, the steepest line now passes through U and is tangent to
 *   the upper convex hull of the L points;
 * - if L is above the flattest line, it passes through L, tangent to the lower hull of the U's.
 * A U above the steepest line (an L below the flattest) can never constrain a feasible line
 * again and is dropped. Tangent points only move right, so each hull point is scanned and
 * removed at most once: O(1) amortised per point.
 *
 * Extending a segment while the point is feasible, and starting a new one when it is not, gives
 * the minimum number of segments: any sub-run of a feasible run is feasible, so taking the
 * longest feasible prefix first never hurts (exchange argument).
 *
 * Coordinates are relative to the segment's first point to keep the float arithmetic small.
 */
import type { LineFit } from './types';

/** A growable list of 2-D points with a movable start (the hull prefix before it is obsolete). */
class Chain {
  xs: number[] = [];
  ys: number[] = [];
  start = 0;

  reset(): void {
    this.xs.length = 0;
    this.ys.length = 0;
    this.start = 0;
  }

  get length(): number {
    return this.xs.length;
  }

  push(x: number, y: number): void {
    this.xs.push(x);
    this.ys.push(y);
  }

  pop(): void {
    this.xs.pop();
    this.ys.pop();
  }

  /** Cross product of (p[j] - p[i]) x (point - p[i]); > 0 means a left (counter-clockwise) turn. */
  turn(i: number, j: number, x: number, y: number): number {
    return (this.xs[j] - this.xs[i]) * (y - this.ys[i]) - (this.ys[j] - this.ys[i]) * (x - this.xs[i]);
  }
}

function slopeOf(ax: number, ay: number, bx: number, by: number): number {
  return (by - ay) / (bx - ax);
}

/** Reused between calls: a segmentation calls this once per segment. */
const upperPoints = new Chain(); // U points: lower convex chain (seen from below by the flattest line)
const lowerPoints = new Chain(); // L points: upper convex chain (seen from above by the steepest line)

export function fitOptimalHull(xs: Float64Array, ys: Float64Array, from: number, eps: number): LineFit {
  const x0 = xs[from];
  const y0 = ys[from];
  if (from + 1 >= xs.length || !(xs[from + 1] - x0 > 0)) {
    return { end: from + 1, slope: 0, intercept: y0 };
  }
  upperPoints.reset();
  lowerPoints.reset();
  upperPoints.push(0, eps);
  lowerPoints.push(0, -eps);
  // Two points always fit. Flattest line: U0 -> L1. Steepest line: L0 -> U1.
  const x1 = xs[from + 1] - x0;
  const y1 = ys[from + 1] - y0;
  upperPoints.push(x1, y1 + eps);
  lowerPoints.push(x1, y1 - eps);
  let flatUx = 0;
  let flatUy = eps;
  let flatLx = x1;
  let flatLy = y1 - eps;
  let steepLx = 0;
  let steepLy = -eps;
  let steepUx = x1;
  let steepUy = y1 + eps;
  let previousX = x1;

  let i = from + 2;
  for (; i < xs.length; i++) {
    const x = xs[i] - x0;
    if (!(x > previousX)) break;
    const y = ys[i] - y0;
    const uy = y + eps;
    const ly = y - eps;
    const flatSlope = slopeOf(flatUx, flatUy, flatLx, flatLy);
    const steepSlope = slopeOf(steepLx, steepLy, steepUx, steepUy);
    // The range [ly, uy] at x must meet [flattest(x), steepest(x)].
    if (slopeOf(flatUx, flatUy, x, uy) < flatSlope || slopeOf(steepLx, steepLy, x, ly) > steepSlope) break;

    const lowersSteepest = slopeOf(steepLx, steepLy, x, uy) < steepSlope;
    const raisesFlattest = slopeOf(flatUx, flatUy, x, ly) > flatSlope;
    if (lowersSteepest) {
      // New steepest line through U: the L on the hull that minimises the slope to U.
      let best = lowerPoints.start;
      let bestSlope = slopeOf(lowerPoints.xs[best], lowerPoints.ys[best], x, uy);
      for (let j = best + 1; j < lowerPoints.length; j++) {
        const s = slopeOf(lowerPoints.xs[j], lowerPoints.ys[j], x, uy);
        if (s > bestSlope) break;
        bestSlope = s;
        best = j;
      }
      lowerPoints.start = best;
      steepLx = lowerPoints.xs[best];
      steepLy = lowerPoints.ys[best];
      steepUx = x;
      steepUy = uy;
    }
    if (raisesFlattest) {
      // New flattest line through L: the U on the hull that maximises the slope to L.
      let best = upperPoints.start;
      let bestSlope = slopeOf(upperPoints.xs[best], upperPoints.ys[best], x, ly);
      for (let j = best + 1; j < upperPoints.length; j++) {
        const s = slopeOf(upperPoints.xs[j], upperPoints.ys[j], x, ly);
        if (s < bestSlope) break;
        bestSlope = s;
        best = j;
      }
      upperPoints.start = best;
      flatUx = upperPoints.xs[best];
      flatUy = upperPoints.ys[best];
      flatLx = x;
      flatLy = ly;
    }
    // Hulls grow only by points that can still bind a future extreme line.
    if (lowersSteepest) {
      while (upperPoints.length - upperPoints.start >= 2 && upperPoints.turn(upperPoints.length - 2, upperPoints.length - 1, x, uy) <= 0) {
        upperPoints.pop();
      }
      upperPoints.push(x, uy);
    }
    if (raisesFlattest) {
      while (lowerPoints.length - lowerPoints.start >= 2 && lowerPoints.turn(lowerPoints.length - 2, lowerPoints.length - 1, x, ly) >= 0) {
        lowerPoints.pop();
      }
      lowerPoints.push(x, ly);
    }
    previousX = x;
  }

  // Any convex combination of the two extreme lines is feasible: take the mean slope, raised to
  // 0 if needed (the steepest slope is >= 0 for increasing data, so slope 0 is then feasible).
  const flatSlope = slopeOf(flatUx, flatUy, flatLx, flatLy);
  const steepSlope = slopeOf(steepLx, steepLy, steepUx, steepUy);
  const flatAt0 = flatUy - flatSlope * flatUx;
  const steepAt0 = steepLy - steepSlope * steepLx;
  const target = Math.max(0, (flatSlope + steepSlope) / 2);
  const spread = steepSlope - flatSlope;
  const t = spread > 0 ? Math.min(1, Math.max(0, (target - flatSlope) / spread)) : 0.5;
  const slope = Math.max(0, flatSlope + t * spread);
  const at0 = flatAt0 + t * (steepAt0 - flatAt0);
  return { end: i, slope, intercept: y0 + at0 };
}
