/**
 * Retrieval quality of a feature space, as the papers measure it: exact k-nearest-neighbour
 * search with Euclidean distance, each query drawn from the gallery and left out of its own
 * results, P@k = fraction of the k results sharing the query's class label.
 */
import { InvalidInputError, InvalidParametersError } from '../core/errors';
import { SmallestK } from '../core/heaps';
import type { VectorSet } from '../linalg/vectors';
import { squaredDistanceAt } from '../linalg/vectors';

/**
 * Mean P@k over the queries, one value per k (same order as `ks`). Ties in distance are broken
 * by gallery index, so the result is deterministic.
 */
export function leaveOneOutPrecision(
  vectors: VectorSet,
  labels: ArrayLike<number>,
  queries: ArrayLike<number>,
  ks: readonly number[],
): number[] {
  const { n, d, data } = vectors;
  if (labels.length !== n) throw new InvalidInputError(`labels: expected ${n}, got ${labels.length}`);
  if (queries.length === 0) throw new InvalidInputError('at least one query is required');
  const kMax = Math.max(...ks);
  if (ks.some((k) => !Number.isInteger(k) || k < 1) || kMax > n - 1) {
    throw new InvalidParametersError(`every k must be an integer in [1, ${n - 1}] (n - 1 gallery items per query)`);
  }
  const hits = new Float64Array(ks.length);
  for (let qi = 0; qi < queries.length; qi++) {
    const q = queries[qi];
    if (!Number.isInteger(q) || q < 0 || q >= n) throw new InvalidInputError(`query index ${q} is outside [0, ${n})`);
    const best = new SmallestK(kMax);
    for (let i = 0; i < n; i++) {
      if (i === q) continue;
      const dist = squaredDistanceAt(data, q * d, data, i * d, d);
      if (dist < best.threshold) best.offer(dist, i);
    }
    const ranked = best.sorted();
    const label = labels[q];
    const sameLabelPrefix = new Uint32Array(ranked.length + 1);
    for (let r = 0; r < ranked.length; r++) sameLabelPrefix[r + 1] = sameLabelPrefix[r] + (labels[ranked[r].value] === label ? 1 : 0);
    ks.forEach((k, idx) => {
      hits[idx] += sameLabelPrefix[k] / k;
    });
  }
  return Array.from(hits, (h) => h / queries.length);
}
