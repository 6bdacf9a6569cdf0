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

  /**
   * The hull point, from `start` rightwards, on the tangent from (x, y): the one with the least
   * slope to it (`least`) or the greatest. Slopes improve until the tangent point and worsen after
   * it (the chain is convex), so the walk stops at the first worse one. Points left of the tangent
   * can never bind again: `start` moves to it.
   */
  tangent(x: number, y: number, least: boolean): number {
    let best = this.start;
    let bestSlope = slopeOf(this.xs[best], this.ys[best], x, y);
    for (let j = best + 1; j < this.length; j++) {
      const s = slopeOf(this.xs[j], this.ys[j], x, y);
      if (least ? s > bestSlope : s < bestSlope) break;
      bestSlope = s;
      best = j;
    }
    this.start = best;
    return best;
  }

  /**
   * Appends (x, y), first dropping the points it makes non-convex: those where the chain turns
   * by `sign` x turn >= 0 (sign 1: the upper hull of the L points, no left turns; sign -1: the
   * lower hull of the U points, no right turns).
   */
  appendConvex(x: number, y: number, sign: 1 | -1): void {
    while (this.length - this.start >= 2 && sign * this.turn(this.length - 2, this.length - 1, x, y) >= 0) this.pop();
    this.push(x, y);
  }
}

/** A line through a point a on the left and a point b on the right. */
class Line {
  ax = 0;
  ay = 0;
  bx = 0;
  by = 0;

  through(ax: number, ay: number, bx: number, by: number): void {
    this.ax = ax;
    this.ay = ay;
    this.bx = bx;
    this.by = by;
  }

  slope(): number {
    return slopeOf(this.ax, this.ay, this.bx, this.by);
  }

  /** Slope from this line's left point to (x, y). */
  slopeTo(x: number, y: number): number {
    return slopeOf(this.ax, this.ay, x, y);
  }

  /** Value at x = 0 (coordinates are relative to the segment's first point). */
  atZero(): number {
    return this.ay - this.slope() * this.ax;
  }
}

function slopeOf(ax: number, ay: number, bx: number, by: number): number {
  return (by - ay) / (bx - ax);
}

/** Reused between calls: a segmentation calls this once per segment. */
const upperPoints = new Chain(); // U points: lower convex chain (seen from below by the flattest line)
const lowerPoints = new Chain(); // L points: upper convex chain (seen from above by the steepest line)
const flattest = new Line(); // through a U on the left and an L on the right
const steepest = new Line(); // through an L on the left and a U on the right

export function fitOptimalHull(xs: Float64Array, ys: Float64Array, from: number, eps: number): LineFit {
  const x0 = xs[from];
  const y0 = ys[from];
  if (from + 1 >= xs.length || !(xs[from + 1] - x0 > 0)) {
    return { end: from + 1, slope: 0, intercept: y0 };
  }
  startSegment(xs[from + 1] - x0, ys[from + 1] - y0, eps);
  let previousX = xs[from + 1] - x0;
  let i = from + 2;
  for (; i < xs.length; i++) {
    const x = xs[i] - x0;
    if (!(x > previousX) || !extendSegment(x, ys[i] - y0, eps)) break;
    previousX = x;
  }
  const { slope, at0 } = meanFeasibleLine();
  return { end: i, slope, intercept: y0 + at0 };
}

/** The first two points (0, 0) and (x1, y1): they always fit. Flattest line U0 -> L1, steepest L0 -> U1. */
function startSegment(x1: number, y1: number, eps: number): void {
  upperPoints.reset();
  lowerPoints.reset();
  upperPoints.push(0, eps);
  lowerPoints.push(0, -eps);
  upperPoints.push(x1, y1 + eps);
  lowerPoints.push(x1, y1 - eps);
  flattest.through(0, eps, x1, y1 - eps);
  steepest.through(0, -eps, x1, y1 + eps);
}

/**
 * Adds the point (x, y), right of every point so far, if its range [y - eps, y + eps] meets
 * [flattest(x), steepest(x)]: pivots the extreme lines it constrains and grows the hulls.
 * Returns false, changing nothing, when the point does not fit.
 */
function extendSegment(x: number, y: number, eps: number): boolean {
  const uy = y + eps;
  const ly = y - eps;
  const flatSlope = flattest.slope();
  const steepSlope = steepest.slope();
  if (flattest.slopeTo(x, uy) < flatSlope || steepest.slopeTo(x, ly) > steepSlope) return false;

  const lowersSteepest = steepest.slopeTo(x, uy) < steepSlope;
  const raisesFlattest = flattest.slopeTo(x, ly) > flatSlope;
  if (lowersSteepest) {
    // New steepest line through U: the L on the hull that minimises the slope to U.
    const j = lowerPoints.tangent(x, uy, true);
    steepest.through(lowerPoints.xs[j], lowerPoints.ys[j], x, uy);
  }
  if (raisesFlattest) {
    // New flattest line through L: the U on the hull that maximises the slope to L.
    const j = upperPoints.tangent(x, ly, false);
    flattest.through(upperPoints.xs[j], upperPoints.ys[j], x, ly);
  }
  // Hulls grow only by points that can still bind a future extreme line.
  if (lowersSteepest) upperPoints.appendConvex(x, uy, -1);
  if (raisesFlattest) lowerPoints.appendConvex(x, ly, 1);
  return true;
}

/**
 * Any convex combination of the two extreme lines is feasible: the mean slope, raised to 0 if
 * needed (the steepest slope is >= 0 for increasing data, so slope 0 is then feasible). Returns
 * the slope and the value at x = 0.
 */
function meanFeasibleLine(): { slope: number; at0: number } {
  const flatSlope = flattest.slope();
  const steepSlope = steepest.slope();
  const flatAt0 = flattest.atZero();
  const steepAt0 = steepest.atZero();
  const target = Math.max(0, (flatSlope + steepSlope) / 2);
  const spread = steepSlope - flatSlope;
  const t = spread > 0 ? Math.min(1, Math.max(0, (target - flatSlope) / spread)) : 0.5;
  const slope = Math.max(0, flatSlope + t * spread);
  return { slope, at0: flatAt0 + t * (steepAt0 - flatAt0) };
}
