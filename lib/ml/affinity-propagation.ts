/**
 * Affinity Propagation (Frey & Dueck, "Clustering by passing messages between data points",
 * Science 2007): every point exchanges responsibilities r(i, k) and availabilities a(i, k) with
 * every candidate exemplar k until a stable set of exemplars emerges. It chooses the number of
 * clusters itself (through the preference s(k, k)), which is why SEI's CAK-means uses it to
 * pick K and the initial K-means centres.
 *
 * Cost: three dense n x n Float64 matrices (S, R, A) and O(n^2) work per iteration, so it is
 * meant for a few thousand points; `maxPoints` refuses more (sample first, as cakMeans does).
 */
import { DimensionMismatchError, InvalidInputError, InvalidParametersError } from '../core/errors';
import { seededRandom } from '../core/random';
import type { VectorSet } from '../linalg/vectors';
import { dotAt, squaredDistanceAt } from '../linalg/vectors';
import type {
  AffinityPropagationParameters,
  AffinityPropagationResult,
  SimilarityMatrix,
  SimilarityOptions,
} from './types';
import { assertVectorSet, checkFinite, checkInteger } from './validation';

export const AP_DEFAULT_MAX_POINTS = 4000;
/**
 * Frey & Dueck's reference code (apcluster.m) uses 0.9. The 0.5 of the Science paper (also
 * scikit-learn's default) oscillates on well-separated clusters: on 4 Gaussian blobs of 30
 * points it does not converge in 200 iterations and ends with 60-120 "exemplars", while 0.9
 * converges in ~45 iterations to the 4.
 */
export const AP_DEFAULT_DAMPING = 0.9;
/**
 * With damping 0.9 the messages drift slowly, so an exemplar set can look stable for 15-30
 * iterations and still change (two pairs of duplicated points: 4 "converged" exemplars after
 * 44 iterations with 15, the correct 2 after 166 with 50). The reference code pairs 0.9 with
 * 100 / 1000; 50 / 500 is enough on everything tested and halves the cost.
 */
export const AP_DEFAULT_CONVERGENCE_ITERATIONS = 50;
export const AP_DEFAULT_MAX_ITERATIONS = 500;
/** Seed of the default tie-breaking noise (fixed so that AP is reproducible; the noise is not a secret). */
const AP_NOISE_SEED = 0x41502007;
/** Tie-breaking noise scale, relative to the range of the similarities (see similarityMatrix). */
const NOISE_RELATIVE_TO_RANGE = 1e-6;

/**
 * The similarity matrix of `vectors` plus tie-breaking noise. The diagonal is left at 0; each
 * AP run writes its preference there, so one matrix serves several runs (cakMeans' preference
 * search).
 *
 * Noise: each off-diagonal entry gets (eps |s| + 1e-6 (max s - min s)) N(0, 1). The reference
 * implementation (apcluster.m, scikit-learn) uses eps |s| + 100 realmin, which vanishes for
 * s = 0 and is rounded away once added to messages of the size of the similarities, so exact
 * duplicates keep their tie and, with damping 0.9, do not converge. A millionth of the
 * similarity range survives that rounding and is still far below any difference that matters
 * for the clustering.
 */
export function similarityMatrix(vectors: VectorSet, options: SimilarityOptions = {}): SimilarityMatrix {
  assertVectorSet(vectors, 'affinity propagation input', 2);
  const maxPoints = checkInteger(options.maxPoints ?? AP_DEFAULT_MAX_POINTS, 'affinity propagation maxPoints', 2);
  const { n, d, data } = vectors;
  if (n > maxPoints) {
    throw new InvalidParametersError(
      `affinity propagation needs three ${n} x ${n} matrices (O(n^2) memory and time): n = ${n} exceeds ` +
        `maxPoints = ${maxPoints}. Run it on a random sample (cakMeans does this with apSampleSize) or raise maxPoints.`,
    );
  }
  const kind = options.similarity ?? 'negative-squared-euclidean';
  if (kind !== 'negative-squared-euclidean' && kind !== 'dot-product') {
    throw new InvalidParametersError(`unknown similarity '${String(kind)}'`);
  }
  const random = options.noiseRandom ?? seededRandom(AP_NOISE_SEED);
  const values = new Float64Array(n * n);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    for (let k = i + 1; k < n; k++) {
      const s =
        kind === 'dot-product' ? dotAt(data, i * d, data, k * d, d) : -squaredDistanceAt(data, i * d, data, k * d, d);
      values[i * n + k] = s;
      values[k * n + i] = s;
      if (s < min) min = s;
      if (s > max) max = s;
    }
  }
  const floor = NOISE_RELATIVE_TO_RANGE * (max - min);
  for (let i = 0; i < values.length; i++) {
    if (i % (n + 1) !== 0) values[i] += (Number.EPSILON * Math.abs(values[i]) + floor) * random.gaussian();
  }
  return { n, values, kind, min, max };
}

/**
 * The median of the pairwise similarities: Frey & Dueck's default preference. Each pair is
 * counted once (upper triangle; the matrix is symmetric up to the tie-breaking noise), which
 * halves the temporary memory.
 */
export function medianSimilarity(similarities: SimilarityMatrix): number {
  const { n, values } = similarities;
  const off = new Float64Array((n * (n - 1)) / 2);
  let m = 0;
  for (let i = 0; i < n; i++) {
    for (let k = i + 1; k < n; k++) off[m++] = values[i * n + k];
  }
  const half = off.length >> 1;
  const upper = selectKth(off, half);
  if (off.length % 2 === 1) return upper;
  // After selection every entry below `half` is <= upper: the lower middle is their maximum.
  let lower = -Infinity;
  for (let i = 0; i < half; i++) if (off[i] > lower) lower = off[i];
  return (lower + upper) / 2;
}

/**
 * Runs AP on a prepared similarity matrix (the off-diagonal entries are read only; the diagonal
 * is overwritten with the preference).
 */
export function affinityPropagationOnSimilarities(
  similarities: SimilarityMatrix,
  parameters: AffinityPropagationParameters = {},
): AffinityPropagationResult {
  const { n } = similarities;
  const S = similarities.values;
  checkSimilarityMatrix(similarities);
  const damping = parameters.damping ?? AP_DEFAULT_DAMPING;
  if (typeof damping !== 'number' || !(damping >= 0.5 && damping < 1)) {
    throw new InvalidParametersError(`affinity propagation damping must be in [0.5, 1), got ${String(damping)}`);
  }
  const maxIterations = checkInteger(
    parameters.maxIterations ?? AP_DEFAULT_MAX_ITERATIONS,
    'affinity propagation maxIterations',
    1,
  );
  const convergenceIterations = checkInteger(
    parameters.convergenceIterations ?? AP_DEFAULT_CONVERGENCE_ITERATIONS,
    'affinity propagation convergenceIterations',
    1,
  );
  const preference =
    parameters.preference === undefined
      ? medianSimilarity(similarities)
      : checkFinite(parameters.preference, 'affinity propagation preference');
  for (let k = 0; k < n; k++) S[k * n + k] = preference;
  if (similarities.min === similarities.max) return equalSimilarities(n, similarities.max, preference);

  const R = new Float64Array(n * n);
  const A = new Float64Array(n * n);
  const columnSums = new Float64Array(n);
  const diagonal = new Float64Array(n);
  let exemplarFlags = new Uint8Array(n);
  let nextFlags = new Uint8Array(n);
  let stableFor = 0;
  let exemplarCount = 0;
  let iterations = 0;
  let converged = false;

  while (iterations < maxIterations) {
    updateResponsibilities(S, A, R, n, damping);
    updateAvailabilities(R, A, n, damping, columnSums, diagonal);
    iterations++;
    exemplarCount = 0;
    let same = true;
    for (let k = 0; k < n; k++) {
      const flag = A[k * n + k] + R[k * n + k] > 0 ? 1 : 0;
      nextFlags[k] = flag;
      exemplarCount += flag;
      if (flag !== exemplarFlags[k]) same = false;
    }
    stableFor = same && iterations > 1 ? stableFor + 1 : 1;
    [exemplarFlags, nextFlags] = [nextFlags, exemplarFlags];
    if (stableFor >= convergenceIterations && exemplarCount > 0) {
      converged = true;
      break;
    }
  }

  let exemplars: number[] = [];
  for (let k = 0; k < n; k++) if (exemplarFlags[k]) exemplars.push(k);
  if (exemplars.length === 0) {
    // Only reachable without convergence: keep the point with the largest evidence a(k,k)+r(k,k).
    let best = 0;
    for (let k = 1; k < n; k++) {
      if (A[k * n + k] + R[k * n + k] > A[best * n + best] + R[best * n + best]) best = k;
    }
    exemplars = [best];
  }
  exemplars = refineExemplars(S, n, exemplars);
  const assignments = assignToExemplars(S, n, exemplars);
  return { exemplars: Uint32Array.from(exemplars), assignments, iterations, converged, preference };
}

/** A matrix not built by {@link similarityMatrix} must still be square, finite and consistent. */
function checkSimilarityMatrix(similarities: SimilarityMatrix): void {
  const { n, values, min, max } = similarities;
  if (!Number.isSafeInteger(n) || n < 2) throw new InvalidInputError('similarity matrix: at least 2 points are required');
  if (!(values instanceof Float64Array) || values.length !== n * n) {
    throw new DimensionMismatchError('similarity matrix buffer', n * n, values.length);
  }
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new InvalidInputError('similarity matrix: min and max must be finite with min <= max');
  }
  for (let i = 0; i < values.length; i++) {
    if (i % (n + 1) !== 0 && !Number.isFinite(values[i])) {
      throw new InvalidInputError(`similarity matrix entry (${Math.floor(i / n)}, ${i % n}) is not a finite number`);
    }
  }
}

/**
 * Every pair equally similar (e.g. identical vectors): the messages carry no information, so
 * answer directly: one exemplar per point if the preference exceeds the similarity (each point
 * is better off alone), else a single cluster. Unlike scikit-learn, a tie (the median default)
 * gives one cluster: identical points are one group.
 */
function equalSimilarities(n: number, similarity: number, preference: number): AffinityPropagationResult {
  if (preference > similarity) {
    return {
      exemplars: Uint32Array.from({ length: n }, (_, i) => i),
      assignments: Uint32Array.from({ length: n }, (_, i) => i),
      iterations: 0,
      converged: true,
      preference,
    };
  }
  return { exemplars: Uint32Array.of(0), assignments: new Uint32Array(n), iterations: 0, converged: true, preference };
}

/**
 * r(i,k) <- s(i,k) - max_{k' != k} (a(i,k') + s(i,k')), damped. Per row only the largest and
 * second-largest a + s are needed: the max over k' != k is the largest unless k is its argmax.
 */
function updateResponsibilities(S: Float64Array, A: Float64Array, R: Float64Array, n: number, damping: number): void {
  const keep = damping;
  const take = 1 - damping;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let first = -Infinity;
    let second = -Infinity;
    let argFirst = 0;
    for (let k = 0; k < n; k++) {
      const v = A[row + k] + S[row + k];
      if (v > first) {
        second = first;
        first = v;
        argFirst = k;
      } else if (v > second) {
        second = v;
      }
    }
    const at = row + argFirst;
    const previous = R[at];
    for (let k = 0; k < n; k++) R[row + k] = keep * R[row + k] + take * (S[row + k] - first);
    // The argmax itself competes against the second largest.
    R[at] = keep * previous + take * (S[at] - second);
  }
}

/**
 * a(i,k) <- min(0, r(k,k) + sum_{i' not in {i,k}} max(0, r(i',k))) for i != k and
 * a(k,k) <- sum_{i' != k} max(0, r(i',k)), damped. Column sums are accumulated row by row so
 * the n x n matrices are only ever scanned in memory order.
 */
function updateAvailabilities(
  R: Float64Array,
  A: Float64Array,
  n: number,
  damping: number,
  columnSums: Float64Array,
  diagonal: Float64Array,
): void {
  const keep = damping;
  const take = 1 - damping;
  columnSums.fill(0);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let k = 0; k < n; k++) {
      const r = R[row + k];
      if (r > 0) columnSums[k] += r;
    }
  }
  // colSum_k = r(k,k) + sum_{i' != k} max(0, r(i',k)): the diagonal enters unclipped.
  for (let k = 0; k < n; k++) {
    const r = R[k * n + k];
    if (r < 0) columnSums[k] += r;
    diagonal[k] = A[k * n + k];
  }
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let k = 0; k < n; k++) {
      const r = R[row + k];
      const candidate = columnSums[k] - (r > 0 ? r : 0);
      A[row + k] = keep * A[row + k] + take * (candidate < 0 ? candidate : 0);
    }
  }
  for (let k = 0; k < n; k++) {
    const at = k * n + k;
    A[at] = keep * diagonal[k] + take * (columnSums[k] - R[at]);
  }
}

/**
 * The reference implementation's final pass: assign each point to its most similar exemplar,
 * then move each cluster's exemplar to the member with the largest summed similarity to the
 * other members. Returns the refined exemplars, ascending.
 */
function refineExemplars(S: Float64Array, n: number, exemplars: number[]): number[] {
  const labels = assignToExemplars(S, n, exemplars);
  const members: number[][] = exemplars.map(() => []);
  for (let i = 0; i < n; i++) members[labels[i]].push(i);
  const refined = members.map((cluster) => {
    let best = cluster[0];
    let bestScore = -Infinity;
    for (const candidate of cluster) {
      let score = 0;
      for (const i of cluster) score += S[i * n + candidate];
      if (score > bestScore) {
        bestScore = score;
        best = candidate;
      }
    }
    return best;
  });
  return refined.sort((a, b) => a - b);
}

/** Label of each point: the index of its most similar exemplar; each exemplar labels itself. */
function assignToExemplars(S: Float64Array, n: number, exemplars: number[]): Uint32Array {
  const labels = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < exemplars.length; c++) {
      const s = S[i * n + exemplars[c]];
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    labels[i] = best;
  }
  for (let c = 0; c < exemplars.length; c++) labels[exemplars[c]] = c;
  return labels;
}

/**
 * Rearranges `values` so that values[k] is the k-th smallest, everything before it is <= and
 * everything after it >= (Hoare quickselect, median-of-three pivot). O(length) on average.
 */
function selectKth(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    const a = values[lo];
    const b = values[mid];
    const c = values[hi];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const t = values[i];
        values[i] = values[j];
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k];
  }
  return values[k];
}
