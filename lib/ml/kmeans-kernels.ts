/**
 * Inner loops shared by K-means: nearest-centre scans, centre updates and empty-cluster
 * re-seeding. Everything works on offsets into flat Float64Arrays and allocates nothing per point.
 *
 * Centres are ranked by the score ||c||^2 - 2 x.c, which orders them like ||x - c||^2 (the
 * ||x||^2 term is common to all centres of one point). Four dot products are computed per pass
 * over x so each coordinate of x is loaded once per four centres.
 */
import type { VectorSet } from '../linalg/vectors';
import { dotAt, squaredDistanceAt } from '../linalg/vectors';

/** ||c||^2 of each of the k centres. */
export function centroidNorms(centroids: Float64Array, k: number, d: number): Float64Array {
  const norms = new Float64Array(k);
  for (let c = 0; c < k; c++) norms[c] = dotAt(centroids, c * d, centroids, c * d, d);
  return norms;
}

/**
 * Scans all k centres for the vector at data[x..x+d). Writes into `out`: [0] index of the best
 * centre (lowest index on ties), [1] its score, [2] the second-best score (Infinity when k = 1),
 * [3] the second-best index (-1 when k = 1).
 */
export function scanCentres(
  data: Float64Array,
  x: number,
  d: number,
  centroids: Float64Array,
  k: number,
  norms: Float64Array,
  out: Float64Array,
): void {
  out[0] = 0;
  out[1] = Infinity;
  out[2] = Infinity;
  out[3] = -1;
  let c = 0;
  for (; c + 3 < k; c += 4) {
    const o0 = c * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < d; j++) {
      const v = data[x + j];
      s0 += v * centroids[o0 + j];
      s1 += v * centroids[o1 + j];
      s2 += v * centroids[o2 + j];
      s3 += v * centroids[o3 + j];
    }
    const t0 = norms[c] - 2 * s0;
    const t1 = norms[c + 1] - 2 * s1;
    const t2 = norms[c + 2] - 2 * s2;
    const t3 = norms[c + 3] - 2 * s3;
    // Most tiles hold neither of the two best: a score no better than the second changes nothing.
    const second = out[2];
    if (t0 < second || t1 < second || t2 < second || t3 < second) {
      // In index order, so ties keep the lowest index.
      offerCentre(out, c, t0);
      offerCentre(out, c + 1, t1);
      offerCentre(out, c + 2, t2);
      offerCentre(out, c + 3, t3);
    }
  }
  for (; c < k; c++) {
    const t = norms[c] - 2 * dotAt(data, x, centroids, c * d, d);
    if (t < out[2]) offerCentre(out, c, t);
  }
  if (out[2] === Infinity) out[3] = -1;
}

/**
 * One step of the two-best ranking scanCentres keeps in `ranking` ([0] best index, [1] best
 * score, [2] second score, [3] second index): centre c with score t. Strict < keeps the earlier
 * centre on ties, so the best is the lowest index among equal scores.
 */
function offerCentre(ranking: Float64Array, c: number, t: number): void {
  if (t < ranking[1]) {
    ranking[2] = ranking[1];
    ranking[3] = ranking[0];
    ranking[1] = t;
    ranking[0] = c;
  } else if (t < ranking[2]) {
    ranking[2] = t;
    ranking[3] = c;
  }
}

/**
 * Assigns every vector to its nearest centre and writes the exact squared distance
 * ||x - c||^2 (recomputed directly for the winner, so it does not suffer the cancellation of
 * the expanded score). Returns how many assignments changed.
 */
export function assignAll(
  set: VectorSet,
  centroids: Float64Array,
  k: number,
  norms: Float64Array,
  assignments: Uint32Array,
  distances: Float64Array,
): number {
  const { n, d, data } = set;
  const scan = new Float64Array(4);
  let changed = 0;
  for (let i = 0; i < n; i++) {
    const x = i * d;
    scanCentres(data, x, d, centroids, k, norms, scan);
    const best = scan[0];
    if (assignments[i] !== best) {
      assignments[i] = best;
      changed++;
    }
    distances[i] = squaredDistanceAt(data, x, centroids, best * d, d);
  }
  return changed;
}

/** Exact squared distance of every vector to its assigned centre. */
export function assignedDistances(
  set: VectorSet,
  centroids: Float64Array,
  assignments: Uint32Array,
  distances: Float64Array,
): void {
  const { n, d, data } = set;
  for (let i = 0; i < n; i++) distances[i] = squaredDistanceAt(data, i * d, centroids, assignments[i] * d, d);
}

/** Members per cluster. */
export function countMembers(assignments: Uint32Array, counts: Uint32Array): void {
  counts.fill(0);
  for (let i = 0; i < assignments.length; i++) counts[assignments[i]]++;
}

/**
 * Moves each centre to the mean of its members (empty clusters keep their centre) and writes
 * how far each centre moved into `moved` (Euclidean). Returns the total squared movement.
 */
export function updateCentroids(
  set: VectorSet,
  assignments: Uint32Array,
  centroids: Float64Array,
  k: number,
  counts: Uint32Array,
  sums: Float64Array,
  moved: Float64Array,
): number {
  const { n, d, data } = set;
  sums.fill(0);
  for (let i = 0; i < n; i++) {
    const o = assignments[i] * d;
    const x = i * d;
    for (let j = 0; j < d; j++) sums[o + j] += data[x + j];
  }
  let shift = 0;
  for (let c = 0; c < k; c++) {
    moved[c] = 0;
    if (counts[c] === 0) continue;
    const inv = 1 / counts[c];
    const o = c * d;
    let squared = 0;
    for (let j = 0; j < d; j++) {
      const next = sums[o + j] * inv;
      const delta = next - centroids[o + j];
      squared += delta * delta;
      centroids[o + j] = next;
    }
    moved[c] = Math.sqrt(squared);
    shift += squared;
  }
  return shift;
}

/**
 * Gives every empty cluster the vector farthest from its own centre (by the exact squared
 * `distances`), taken only from clusters with at least two members: one exists while a cluster
 * is empty because k <= n. Updates assignments, distances and counts; returns how many clusters
 * were re-seeded.
 */
export function reseedEmptyClusters(
  set: VectorSet,
  centroids: Float64Array,
  k: number,
  assignments: Uint32Array,
  distances: Float64Array,
  counts: Uint32Array,
): number {
  const { n, d, data } = set;
  let reseeded = 0;
  for (let c = 0; c < k; c++) {
    if (counts[c] !== 0) continue;
    let far = -1;
    let farDistance = -1;
    for (let i = 0; i < n; i++) {
      if (distances[i] > farDistance && counts[assignments[i]] > 1) {
        farDistance = distances[i];
        far = i;
      }
    }
    counts[assignments[far]]--;
    assignments[far] = c;
    counts[c] = 1;
    distances[far] = 0;
    centroids.set(data.subarray(far * d, far * d + d), c * d);
    reseeded++;
  }
  return reseeded;
}

/** Whether some cluster has no member. */
export function hasEmptyCluster(counts: Uint32Array): boolean {
  for (let c = 0; c < counts.length; c++) if (counts[c] === 0) return true;
  return false;
}
