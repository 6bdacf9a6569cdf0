/**
 * Lloyd's K-means iterations (assign to nearest centre, move centres to the means) with
 * Hamerly's bounds (G. Hamerly, "Making k-means even faster", SDM 2010). The result is that of
 * plain Lloyd (up to exact ties); the bounds only skip distance computations that cannot change
 * an assignment. Per vector it keeps an upper bound u on the distance to its centre and a lower
 * bound l on the distance to every other centre; after the centres move by delta, u grows by
 * its centre's delta and l shrinks by the largest other delta. A vector needs a full scan of
 * the k centres only when u exceeds both l and half the distance from its centre to the nearest
 * other centre. Once the centres settle, most vectors are skipped, so later iterations cost
 * O(n) instead of O(n k d).
 */
import type { VectorSet } from '../linalg/vectors';
import { dotAt, squaredDistanceAt } from '../linalg/vectors';
import {
  assignedDistances,
  centroidNorms,
  countMembers,
  hasEmptyCluster,
  reseedEmptyClusters,
  scanCentres,
  updateCentroids,
} from './kmeans-kernels';
import type { KMeansResult } from './types';

/**
 * Relative slack subtracted from lower bounds computed with the expanded form
 * ||x||^2 + ||c||^2 - 2 x.c, whose rounding error is about eps d (||x||^2 + ||c||^2): keeps the
 * bound a true lower bound for d up to ~10^5, at the price of a few extra scans.
 */
const LOWER_BOUND_SLACK = 1e-10;

/**
 * Runs up to `maxIterations` centre updates from `centroids` (modified in place). Converged
 * when an update changes no assignment, or when the total squared centre movement of an update
 * is at most `tolerance` times the mean per-coordinate variance of the data (scikit-learn's
 * criterion). The returned assignments are always the nearest centres of the returned
 * centroids; empty clusters are re-seeded with the farthest vector.
 */
export function lloydWithBounds(
  set: VectorSet,
  centroids: Float64Array,
  k: number,
  maxIterations: number,
  tolerance: number,
): KMeansResult {
  const { n, d } = set;
  const assignments = new Uint32Array(n);
  const counts = new Uint32Array(k);
  const bounds = new HamerlyBounds(set, centroids, k);
  for (let i = 0; i < n; i++) assignments[i] = bounds.rescan(i);
  countMembers(assignments, counts);
  reseedWithBounds(bounds, assignments, counts);

  const threshold = tolerance * meanCoordinateVariance(set);
  const sums = new Float64Array(k * d);
  const moved = new Float64Array(k);
  const half = new Float64Array(k);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    const shift = updateCentroids(set, assignments, centroids, k, counts, sums, moved);
    iterations++;
    const changed = reassignAfterMove(bounds, assignments, counts, moved, half) + reseedWithBounds(bounds, assignments, counts);
    if (changed === 0 || shift <= threshold) {
      converged = true;
      break;
    }
  }

  const distances = new Float64Array(n);
  assignedDistances(set, centroids, assignments, distances);
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += distances[i];
  return { centroids: { n: k, d, data: centroids }, assignments, iterations, inertia, converged };
}

/**
 * Hamerly's two bounds per vector i with centre a(i), true between iterations:
 *   upper[i] >= ||x_i - c_a(i)||   and   lower[i] <= min over c != a(i) of ||x_i - c||.
 * The centres are `centroids` itself (moved in place by the iterations); `norms` caches their
 * squared norms for the expanded-form scans and must be refreshed whenever they move.
 */
export class HamerlyBounds {
  readonly upper: Float64Array;
  readonly lower: Float64Array;
  private readonly pointNorms: Float64Array;
  private norms: Float64Array;
  private readonly scan = new Float64Array(4);

  constructor(
    readonly set: VectorSet,
    readonly centroids: Float64Array,
    readonly k: number,
  ) {
    const { n, d, data } = set;
    this.upper = new Float64Array(n);
    this.lower = new Float64Array(n);
    this.pointNorms = new Float64Array(n);
    for (let i = 0; i < n; i++) this.pointNorms[i] = dotAt(data, i * d, data, i * d, d);
    this.norms = centroidNorms(centroids, k, d);
  }

  /** Full scan of vector i: sets its bounds from the exact scan and returns its nearest centre. */
  rescan(i: number): number {
    const { set, centroids, scan } = this;
    const { d, data } = set;
    const x = i * d;
    scanCentres(data, x, d, centroids, this.k, this.norms, scan);
    const best = scan[0];
    this.upper[i] = Math.sqrt(squaredDistanceAt(data, x, centroids, best * d, d));
    const runnerUp = scan[3];
    if (runnerUp < 0) {
      this.lower[i] = Infinity;
    } else {
      const scale = this.pointNorms[i] + this.norms[runnerUp];
      const squared = this.pointNorms[i] + scan[2] - LOWER_BOUND_SLACK * scale;
      this.lower[i] = squared > 0 ? Math.sqrt(squared) : 0;
    }
    return best;
  }

  /** The centres moved: their cached norms follow (the bounds are loosened per vector by the caller). */
  centresMoved(): void {
    this.norms = centroidNorms(this.centroids, this.k, this.set.d);
  }

  /** A centre jumped (a re-seed): no bound holds any more, so each vector's next check rescans it. */
  forgetAll(): void {
    this.upper.fill(Infinity);
    this.lower.fill(0);
    this.centresMoved();
  }
}

/**
 * Re-seeds empty clusters (kmeans-kernels' reseedEmptyClusters) and voids every bound after a
 * re-seed, since the moved centre invalidates them. Returns how many clusters were re-seeded.
 */
function reseedWithBounds(bounds: HamerlyBounds, assignments: Uint32Array, counts: Uint32Array): number {
  if (!hasEmptyCluster(counts)) return 0;
  const { set, centroids, k } = bounds;
  const distances = new Float64Array(set.n);
  assignedDistances(set, centroids, assignments, distances);
  const reseeded = reseedEmptyClusters(set, centroids, k, assignments, distances, counts);
  bounds.forgetAll();
  return reseeded;
}

/**
 * Hamerly's assignment step after the centres moved by `moved` (Euclidean, per centre): each
 * vector's upper bound grows by its centre's move and its lower bound shrinks by the largest move
 * of any other centre, which keeps both bounds true (triangle inequality). A vector is rescanned
 * only when its upper bound exceeds both its lower bound and half the distance from its centre to
 * the nearest other centre (otherwise no other centre can be nearer). Updates assignments and
 * counts; returns how many assignments changed. `half` is scratch of k entries.
 */
export function reassignAfterMove(
  bounds: HamerlyBounds,
  assignments: Uint32Array,
  counts: Uint32Array,
  moved: Float64Array,
  half: Float64Array,
): number {
  const { set, centroids, k, upper, lower } = bounds;
  const { n, d, data } = set;
  bounds.centresMoved();
  halfDistanceToNearestCentre(centroids, k, d, half);
  const { largest, secondLargest, largestAt } = largestMoves(moved, k);
  let changed = 0;
  for (let i = 0; i < n; i++) {
    const a = assignments[i];
    upper[i] += moved[a];
    lower[i] -= a === largestAt ? secondLargest : largest;
    const bound = half[a] > lower[i] ? half[a] : lower[i];
    if (upper[i] <= bound) continue;
    upper[i] = Math.sqrt(squaredDistanceAt(data, i * d, centroids, a * d, d));
    if (upper[i] <= bound) continue;
    const best = bounds.rescan(i);
    if (best !== a) {
      assignments[i] = best;
      counts[a]--;
      counts[best]++;
      changed++;
    }
  }
  return changed;
}

/** The largest centre move, where it happened, and the second largest (the largest of the others). */
function largestMoves(moved: Float64Array, k: number): { largest: number; secondLargest: number; largestAt: number } {
  let largest = 0;
  let secondLargest = 0;
  let largestAt = -1;
  for (let c = 0; c < k; c++) {
    if (moved[c] > largest) {
      secondLargest = largest;
      largest = moved[c];
      largestAt = c;
    } else if (moved[c] > secondLargest) {
      secondLargest = moved[c];
    }
  }
  return { largest, secondLargest, largestAt };
}

/** half[c] = ||c - c'|| / 2 for the nearest other centre c' (Infinity when k = 1). */
function halfDistanceToNearestCentre(centroids: Float64Array, k: number, d: number, half: Float64Array): void {
  half.fill(Infinity);
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      const distance = Math.sqrt(squaredDistanceAt(centroids, a * d, centroids, b * d, d)) / 2;
      if (distance < half[a]) half[a] = distance;
      if (distance < half[b]) half[b] = distance;
    }
  }
}

/** Mean over coordinates of the per-coordinate variance: the scale of the tolerance. */
function meanCoordinateVariance(set: VectorSet): number {
  const { n, d, data } = set;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = data[i * d + j] - mean[j];
      total += v * v;
    }
  }
  return total / (n * d);
}
