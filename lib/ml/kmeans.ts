/**
 * K-means with kmeans++ seeding, on VectorSets of up to millions of rows. The iterations are
 * exact Lloyd iterations accelerated with Hamerly's bounds (lloyd.ts); the nearest-centre
 * scans use the expanded distance and allocate nothing per vector (kmeans-kernels.ts).
 */
import { DimensionMismatchError, InvalidParametersError } from '../core/errors';
import type { RandomSource } from '../core/random';
import { secureRandom } from '../core/random';
import type { VectorSet } from '../linalg/vectors';
import { selectRows, squaredDistanceAt } from '../linalg/vectors';
import { assignAll, centroidNorms } from './kmeans-kernels';
import { lloydWithBounds } from './lloyd';
import { sampleIndices } from './sampling';
import type { KMeansOptions, KMeansResult, NearestAssignment } from './types';
import { assertVectorSet, checkFinite, checkInteger } from './validation';

export const KMEANS_DEFAULT_MAX_ITERATIONS = 50;
export const KMEANS_DEFAULT_TOLERANCE = 1e-4;
export const KMEANS_DEFAULT_SEEDING_SAMPLE_SIZE = 100_000;

/**
 * Clusters `vectors` into k groups.
 *
 * With `sampleSize` < n the centres are fitted on a uniform random sample and every vector is
 * then assigned to its nearest fitted centre; `iterations`/`converged` describe the sample fit
 * and `inertia` covers all vectors.
 *
 * Empty clusters (possible after an update or with duplicated points) are re-seeded with the
 * point farthest from its centre, taken from a cluster that keeps at least one member, so the
 * result never has an empty cluster.
 *
 * @throws InvalidInputError for empty or non-finite input; InvalidParametersError for k outside
 *         [1, n], mismatched initial centres or bad options.
 */
export function kMeans(vectors: VectorSet, options: KMeansOptions): KMeansResult {
  assertVectorSet(vectors, 'K-means input', 1);
  const init = options.init ?? 'kmeans++';
  let k: number;
  if (init === 'kmeans++') {
    if (options.k === undefined) throw new InvalidParametersError('K-means: k is required with kmeans++ seeding');
    k = options.k;
  } else {
    assertVectorSet(init, 'K-means initial centres', 1);
    if (init.d !== vectors.d) throw new DimensionMismatchError('K-means initial centres', vectors.d, init.d);
    if (options.k !== undefined && options.k !== init.n) {
      throw new InvalidParametersError(`K-means: k = ${options.k} but ${init.n} initial centres were given`);
    }
    k = init.n;
  }
  checkInteger(k, 'K-means k (number of clusters)', 1, vectors.n);
  const maxIterations = checkInteger(options.maxIterations ?? KMEANS_DEFAULT_MAX_ITERATIONS, 'K-means maxIterations', 0);
  const tolerance = checkFinite(options.tolerance ?? KMEANS_DEFAULT_TOLERANCE, 'K-means tolerance');
  if (tolerance < 0) throw new InvalidParametersError('K-means tolerance must be >= 0');
  const seedingSampleSize = checkInteger(
    options.seedingSampleSize ?? KMEANS_DEFAULT_SEEDING_SAMPLE_SIZE,
    'K-means seedingSampleSize',
    1,
  );
  const random = options.random ?? secureRandom;

  let fitSet = vectors;
  if (options.sampleSize !== undefined) {
    const m = checkInteger(options.sampleSize, 'K-means sampleSize', k);
    if (m < vectors.n) fitSet = selectRows(vectors, sampleIndices(vectors.n, m, random));
  }

  const centroids =
    init === 'kmeans++'
      ? kMeansPlusPlusSeeds(fitSet, k, { random, sampleSize: Math.max(seedingSampleSize, k) }).data
      : Float64Array.from(init.data);
  const fit = lloydWithBounds(fitSet, centroids, k, maxIterations, tolerance);
  if (fitSet === vectors) return fit;

  const all = assignToNearest(vectors, fit.centroids);
  return {
    centroids: fit.centroids,
    assignments: all.assignments,
    iterations: fit.iterations,
    inertia: sum(all.squaredDistances),
    converged: fit.converged,
  };
}

/** Nearest centre (squared Euclidean, lowest index on ties) of every vector. */
export function assignToNearest(vectors: VectorSet, centroids: VectorSet): NearestAssignment {
  assertVectorSet(vectors, 'vectors to assign', 0);
  assertVectorSet(centroids, 'centroids', 1);
  if (centroids.d !== vectors.d) throw new DimensionMismatchError('centroids', vectors.d, centroids.d);
  const assignments = new Uint32Array(vectors.n);
  const squaredDistances = new Float64Array(vectors.n);
  const norms = centroidNorms(centroids.data, centroids.n, centroids.d);
  assignAll(vectors, centroids.data, centroids.n, norms, assignments, squaredDistances);
  return { assignments, squaredDistances };
}

/**
 * kmeans++ seeding (Arthur & Vassilvitskii 2007): first centre uniform, each next one drawn with
 * probability proportional to the squared distance to the nearest centre chosen so far.
 * O(m k d) on a uniform sample of m = min(n, sampleSize) vectors.
 */
export function kMeansPlusPlusSeeds(
  vectors: VectorSet,
  k: number,
  options: { random?: RandomSource; sampleSize?: number } = {},
): VectorSet {
  assertVectorSet(vectors, 'kmeans++ input', 1);
  checkInteger(k, 'kmeans++ k', 1, vectors.n);
  const random = options.random ?? secureRandom;
  const sampleSize = checkInteger(
    options.sampleSize ?? Math.max(KMEANS_DEFAULT_SEEDING_SAMPLE_SIZE, k),
    'kmeans++ sampleSize',
    k,
  );
  const source = sampleSize < vectors.n ? selectRows(vectors, sampleIndices(vectors.n, sampleSize, random)) : vectors;
  const { n, d, data } = source;
  const centres = new Float64Array(k * d);
  const nearest = new Float64Array(n);
  let chosen = random.int(n);
  centres.set(data.subarray(chosen * d, chosen * d + d), 0);
  for (let i = 0; i < n; i++) nearest[i] = squaredDistanceAt(data, i * d, centres, 0, d);
  for (let c = 1; c < k; c++) {
    chosen = drawProportional(nearest, random);
    const o = c * d;
    centres.set(data.subarray(chosen * d, chosen * d + d), o);
    for (let i = 0; i < n; i++) {
      const dist = squaredDistanceAt(data, i * d, centres, o, d);
      if (dist < nearest[i]) nearest[i] = dist;
    }
  }
  return { n: k, d, data: centres };
}

/** Index drawn with probability weights[i] / sum(weights); uniform when every weight is 0. */
function drawProportional(weights: Float64Array, random: RandomSource): number {
  const total = sum(weights);
  if (!(total > 0)) return random.int(weights.length);
  const target = random.next() * total;
  let cumulative = 0;
  let last = 0;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] > 0) {
      cumulative += weights[i];
      last = i;
      if (cumulative > target) return i;
    }
  }
  // Rounding can leave target just above the final cumulative sum.
  return last;
}

function sum(values: Float64Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s;
}
