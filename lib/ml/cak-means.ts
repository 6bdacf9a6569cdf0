/**
 * CAK-means (Zhu et al., used by SEI section 3.1 to build the leaves of the index tree):
 * Affinity Propagation picks the number of clusters K and the initial centres (its exemplars),
 * then K-means refines those centres on every vector.
 *
 * AP costs O(m^2) memory and time, so it runs on a uniform random sample of at most
 * `apSampleSize` vectors (the paper runs it on all of them, which does not scale past a few
 * thousand images); K-means then runs on all n vectors from the sample's exemplars.
 *
 * When AP's K falls outside [minClusters, maxClusters] the preference is searched: K grows
 * with the preference p, so with t = max similarity - p > 0 the search multiplies t by 4
 * (too many clusters) or divides it by 4 (too few) until the bounds are bracketed, then bisects
 * t geometrically. If that fails within `preferenceSearchSteps` runs, K-means starts from
 * kmeans++ with K clamped into the bounds. `source` in the result says which path was taken.
 */
import { InvalidParametersError } from '../core/errors';
import { secureRandom } from '../core/random';
import type { RandomSource } from '../core/random';
import type { VectorSet } from '../linalg/vectors';
import { selectRows } from '../linalg/vectors';
import { affinityPropagationOnSimilarities, similarityMatrix } from './affinity-propagation';
import { kMeans } from './kmeans';
import { sampleIndices } from './sampling';
import type { AffinityPropagationResult, CakMeansOptions, CakMeansResult, CakMeansSource } from './types';
import { assertVectorSet, checkInteger } from './validation';

export const CAK_DEFAULT_AP_SAMPLE_SIZE = 2500;
export const CAK_DEFAULT_PREFERENCE_SEARCH_STEPS = 8;
/** Factor by which the preference offset t grows or shrinks until the bounds are bracketed. */
const PREFERENCE_STEP_FACTOR = 4;

/** CAK-means options checked, with defaults filled in. */
interface CakBounds {
  readonly apSampleSize: number;
  readonly minClusters: number;
  readonly maxClusters: number;
  readonly searchSteps: number;
}

/** The AP stage's outcome: the run whose exemplars seed K-means, or the fallback's K. */
interface ExemplarChoice {
  /** The vectors AP clustered (all of them, or the sample). */
  readonly sample: VectorSet;
  readonly source: CakMeansSource;
  /** The AP run the result reports: the one used, or for the fallback the one closest to the bounds. */
  readonly used: AffinityPropagationResult;
  readonly apRuns: number;
}

/**
 * Clusters `vectors` with CAK-means.
 * @throws InvalidInputError for empty or non-finite input; InvalidParametersError for
 *         inconsistent bounds (minClusters > maxClusters or > n) or bad AP/K-means options.
 */
export function cakMeans(vectors: VectorSet, options: CakMeansOptions = {}): CakMeansResult {
  assertVectorSet(vectors, 'CAK-means input', 1);
  const bounds = checkBounds(options, vectors.n);
  const random = options.random ?? secureRandom;
  if (vectors.n === 1) return singleVectorResult(vectors);

  const m = Math.min(vectors.n, bounds.apSampleSize);
  const upper = Math.min(bounds.maxClusters, m);
  const choice = chooseExemplars(vectors, m, { ...bounds, maxClusters: upper }, options, random);

  // Step 3: K-means on every vector, from the exemplars (or kmeans++ with K clamped into the bounds).
  const kMeansOptions = { ...options.kMeans, random };
  const fitted =
    choice.source === 'kmeans++-fallback'
      ? kMeans(vectors, {
          ...kMeansOptions,
          k: Math.min(Math.max(choice.used.exemplars.length, bounds.minClusters), upper),
          init: 'kmeans++',
        })
      : kMeans(vectors, { ...kMeansOptions, init: selectRows(choice.sample, choice.used.exemplars) });
  return {
    k: fitted.centroids.n,
    centroids: fitted.centroids,
    assignments: fitted.assignments,
    inertia: fitted.inertia,
    source: choice.source,
    preference: choice.used.preference,
    apRuns: choice.apRuns,
    apIterations: choice.used.iterations,
    apConverged: choice.used.converged,
    apSampleSize: m,
    kMeansIterations: fitted.iterations,
    kMeansConverged: fitted.converged,
  };
}

/** The options' sample size, K bounds and search steps, checked against each other and n. */
function checkBounds(options: CakMeansOptions, n: number): CakBounds {
  const apSampleSize = checkInteger(options.apSampleSize ?? CAK_DEFAULT_AP_SAMPLE_SIZE, 'CAK-means apSampleSize', 2);
  const minClusters = checkInteger(options.minClusters ?? 1, 'CAK-means minClusters', 1);
  const maxClusters = checkInteger(options.maxClusters ?? Number.MAX_SAFE_INTEGER, 'CAK-means maxClusters', 1);
  if (minClusters > maxClusters) {
    throw new InvalidParametersError(`CAK-means: minClusters (${minClusters}) exceeds maxClusters (${maxClusters})`);
  }
  if (minClusters > n) {
    throw new InvalidParametersError(`CAK-means: cannot make minClusters = ${minClusters} clusters from ${n} vectors`);
  }
  const searchSteps = checkInteger(
    options.preferenceSearchSteps ?? CAK_DEFAULT_PREFERENCE_SEARCH_STEPS,
    'CAK-means preferenceSearchSteps',
    0,
  );
  return { apSampleSize, minClusters, maxClusters, searchSteps };
}

/** One vector is one cluster: nothing to run. */
function singleVectorResult(vectors: VectorSet): CakMeansResult {
  return {
    k: 1,
    centroids: { n: 1, d: vectors.d, data: Float64Array.from(vectors.data) },
    assignments: new Uint32Array(1),
    inertia: 0,
    source: 'single-point',
    preference: Number.NaN,
    apRuns: 0,
    apIterations: 0,
    apConverged: false,
    apSampleSize: 0,
    kMeansIterations: 0,
    kMeansConverged: true,
  };
}

/**
 * Steps 1 and 2 on a sample of m vectors: the similarity matrix SM, then AP's exemplars, with a
 * preference search when AP's K falls outside [minClusters, maxClusters] (maxClusters already
 * capped at m). Records the run nearest to the bounds for the kmeans++ fallback.
 */
function chooseExemplars(vectors: VectorSet, m: number, bounds: CakBounds, options: CakMeansOptions, random: RandomSource): ExemplarChoice {
  const { n } = vectors;
  const sample = m < n ? selectRows(vectors, sampleIndices(n, m, random)) : vectors;
  const similarities = similarityMatrix(sample, {
    similarity: options.similarity,
    noiseRandom: options.noiseRandom,
    maxPoints: m,
  });
  const { minClusters, maxClusters } = bounds;
  const runAp = (preference: number | undefined): AffinityPropagationResult =>
    affinityPropagationOnSimilarities(similarities, {
      preference,
      damping: options.damping,
      maxIterations: options.maxIterations,
      convergenceIterations: options.convergenceIterations,
    });
  const distanceToBounds = (k: number): number => (k < minClusters ? minClusters - k : k > maxClusters ? k - maxClusters : 0);

  const first = runAp(options.preference);
  if (distanceToBounds(first.exemplars.length) === 0) return { sample, source: 'affinity-propagation', used: first, apRuns: 1 };
  let apRuns = 1;
  let closest = first;
  const found = searchPreference(first, similarities, bounds.searchSteps, minClusters, maxClusters, (p) => {
    apRuns++;
    const next = runAp(p);
    if (distanceToBounds(next.exemplars.length) < distanceToBounds(closest.exemplars.length)) closest = next;
    return next;
  });
  if (found !== undefined) return { sample, source: 'affinity-propagation-adjusted', used: found, apRuns };
  return { sample, source: 'kmeans++-fallback', used: closest, apRuns };
}

/**
 * Geometric search of the preference offset t = maxSimilarity - p (K decreases as t grows).
 * Returns the first AP result with K in [minClusters, maxClusters], or undefined.
 */
function searchPreference(
  first: AffinityPropagationResult,
  range: { min: number; max: number },
  steps: number,
  minClusters: number,
  maxClusters: number,
  run: (preference: number) => AffinityPropagationResult,
): AffinityPropagationResult | undefined {
  const spread = range.max - range.min;
  if (!(spread > 0)) return undefined; // every sampled vector is identical: no preference changes K meaningfully
  let t = range.max - first.preference;
  if (!(t > 0)) t = spread * 1e-3;
  let tooMany: number | undefined; // largest t known to give K > maxClusters
  let tooFew: number | undefined; // smallest t known to give K < minClusters
  let k = first.exemplars.length;
  for (let step = 0; step < steps; step++) {
    if (k > maxClusters) {
      tooMany = tooMany === undefined ? t : Math.max(tooMany, t);
      t = tooFew === undefined ? t * PREFERENCE_STEP_FACTOR : Math.sqrt(tooMany * tooFew);
    } else {
      tooFew = tooFew === undefined ? t : Math.min(tooFew, t);
      t = tooMany === undefined ? t / PREFERENCE_STEP_FACTOR : Math.sqrt(tooMany * tooFew);
    }
    const result = run(range.max - t);
    k = result.exemplars.length;
    if (k >= minClusters && k <= maxClusters) return result;
  }
  return undefined;
}
