/**
 * How many leaves a query must read for the recall the owner wants (owner side, at build time).
 *
 * A sample of the owner's own vectors acts as queries. For each, the exact k nearest neighbours
 * among all other vectors (plaintext, float64) are the truth; the client's answer with R real
 * leaves is the k nearest by distance to the STORED (quantised) vectors among the images of the
 * R leaves with the nearest centroids. recall(R) is the mean fraction of the truth in that
 * answer, exactly what `npm run bench -- sealed` measures on held-out queries. The index's
 * default is the smallest R whose recall reaches the target with 95% confidence (the mean minus
 * 1.645 standard errors over the sample): measured on Fashion-MNIST, the sample's mean alone
 * differs from held-out queries by about +-0.005, which would miss a 0.95 target half the time.
 */
import { SmallestK } from '../core/heaps';
import type { RandomSource } from '../core/random';
import { sampleIndices } from '../ml/sampling';
import type { VectorSet } from '../linalg/vectors';
import { squaredDistanceAt } from '../linalg/vectors';

/** Candidates by stored distance kept per query: the answer for any R is found among them. */
const CANDIDATES = 2048;

export interface CalibrationInput {
  readonly vectors: VectorSet;
  /** The vectors as the client will see them (decoded), same shape. */
  readonly stored: Float32Array;
  /** Leaf of every vector. */
  readonly leafOf: Uint32Array;
  readonly centroids: Float64Array;
  readonly leafCount: number;
  readonly k: number;
  readonly queries: number;
  readonly random: RandomSource;
}

export interface RecallCurve {
  /** recall[R - 1] for R = 1 .. maxLeaves (non-decreasing up to quantisation ties). */
  readonly recall: number[];
  /** Standard error of each recall[R - 1] over the sampled queries. */
  readonly standardError: number[];
  readonly queries: number;
}

/** One-sided 95% normal quantile. */
const CONFIDENCE_Z = 1.645;

function storedDistance(query: Float64Array, qo: number, stored: Float32Array, so: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const diff = query[qo + j] - stored[so + j];
    s += diff * diff;
  }
  return s;
}

/**
 * recall(R) for R = 1 .. maxLeaves. Cost: two passes over the collection per sampled query
 * (exact truth, stored-distance candidates).
 */
export function recallCurve(input: CalibrationInput, maxLeaves: number): RecallCurve {
  const { vectors, stored, leafOf, centroids, leafCount, random } = input;
  const { n, d, data } = vectors;
  const k = Math.min(input.k, n - 1);
  const sample = sampleIndices(n, Math.min(input.queries, n), random);
  const hits = new Float64Array(maxLeaves);
  const squares = new Float64Array(maxLeaves);
  let counted = 0;
  if (k < 1) return { recall: new Array(maxLeaves).fill(1), standardError: new Array(maxLeaves).fill(0), queries: 0 };
  const leafRank = new Uint32Array(leafCount);
  for (const q of sample) {
    const qo = q * d;
    const truth = new SmallestK(k);
    const candidates = new SmallestK(Math.min(CANDIDATES, n - 1));
    for (let i = 0; i < n; i++) {
      if (i === q) continue;
      const exact = squaredDistanceAt(data, qo, data, i * d, d);
      if (exact < truth.threshold) truth.offer(exact, i);
      const approx = storedDistance(data, qo, stored, i * d, d);
      if (approx < candidates.threshold) candidates.offer(approx, i);
    }
    const truthSet = new Set(truth.sorted().map((entry) => entry.value));
    const order = Array.from({ length: leafCount }, (_, leaf) => ({ leaf, distance: squaredDistanceAt(data, qo, centroids, leaf * d, d) }));
    order.sort((a, b) => a.distance - b.distance || a.leaf - b.leaf);
    order.forEach((entry, rank) => (leafRank[entry.leaf] = rank));
    const ranked = candidates.sorted().map((entry) => entry.value);
    for (let R = 1; R <= maxLeaves; R++) {
      let found = 0;
      let correct = 0;
      for (const i of ranked) {
        if (leafRank[leafOf[i]] >= R) continue;
        if (truthSet.has(i)) correct++;
        if (++found === k) break;
      }
      hits[R - 1] += correct / k;
      squares[R - 1] += (correct / k) ** 2;
    }
    counted++;
  }
  const recall = Array.from(hits, (h) => h / counted);
  const standardError = recall.map((mean, i) => (counted > 1 ? Math.sqrt(Math.max(0, squares[i] / counted - mean * mean) / (counted - 1)) : 0));
  return { recall, standardError, queries: counted };
}

/** The smallest R whose recall reaches the target with 95% confidence (maxLeaves if none does). */
export function leavesForRecall(curve: RecallCurve, target: number): number {
  const index = curve.recall.findIndex((r, i) => r - CONFIDENCE_Z * curve.standardError[i] >= target);
  return index < 0 ? curve.recall.length : index + 1;
}
