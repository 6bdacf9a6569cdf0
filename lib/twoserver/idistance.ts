/**
 * iDistance (Jagadish et al., TODS 2005) as the two-server scheme builds it: K-means partitions,
 * reference point O_i per partition, and a one-dimensional key per template
 *   key(p) = offset_i + dist(p, O_i)
 * so that a radius query around q becomes one key interval per partition (idistance-query.ts).
 *
 * Reference points are the K-means centroids rounded to integers: the HE layer only encrypts
 * integer vectors, and any point works as a reference (the triangle inequality does not care),
 * while rounding moves a centroid by at most 0.5 per coordinate.
 *
 * Offsets. The paper keeps the gaps between partitions small; we use cumulative offsets
 *   offset_0 = 0,  offset_{i+1} = (offset_i + dmax_i) + gap_i,  gap_i = max(1, top_i * 2^-40)
 * where top_i = offset_i + dmax_i is computed in floats exactly as the keys are. Every key of
 * partition i is fl(offset_i + fl(sqrt(D))) <= fl(offset_i + dmax_i) = top_i because dmax_i is the
 * largest fl(sqrt(D)) and float addition is monotone, and every key of partition i+1 is >=
 * offset_{i+1} > top_i (the gap is at least one ulp of top_i). So keys of different partitions
 * never interleave, rounding included, and partitions appear in key order 0, 1, ..., K-1.
 */
import { InvalidInputError, InvalidParametersError } from '../core/errors';
import type { RandomSource } from '../core/random';
import type { VectorSet } from '../linalg/vectors';
import { squaredDistanceAt } from '../linalg/vectors';
import { kMeans } from '../ml/kmeans';
import type { IDistanceIndex } from './types';

export interface IDistanceOptions {
  /** Number of K-means partitions (capped at the number of templates). */
  readonly partitions: number;
  /** K-means seeding / sampling randomness (not a secret). Default: secureRandom. */
  readonly random?: RandomSource;
  /** Lloyd iterations. Default: K-means' default. */
  readonly maxIterations?: number;
  /** Fit K-means on a sample of this many templates (then assign all). Default: all. */
  readonly sampleSize?: number;
}

/** Relative size of the gap between consecutive partitions' key intervals (at least 1). */
const GAP_FRACTION = 2 ** -40;

/**
 * Checks that templates are integer vectors whose squared distances stay exact in a double
 * (d * (2 * maxAbs)^2 <= 2^53). Returns maxAbs.
 */
export function assertIntegerTemplates(templates: VectorSet, what = 'templates'): number {
  if (templates === null || typeof templates !== 'object' || !(templates.data instanceof Float64Array)) {
    throw new InvalidInputError(`${what}: a VectorSet is required`);
  }
  if (!Number.isInteger(templates.d) || templates.d < 1 || templates.data.length !== templates.n * templates.d) {
    throw new InvalidInputError(`${what}: n, d and the data length do not agree`);
  }
  let maxAbs = 0;
  const data = templates.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v)) {
      throw new InvalidInputError(
        `${what}[${Math.floor(i / templates.d)}][${i % templates.d}] is not an integer (quantize embeddings first)`,
      );
    }
    const a = Math.abs(v);
    if (a > maxAbs) maxAbs = a;
  }
  if (!Number.isSafeInteger(templates.d * (2 * maxAbs) ** 2)) {
    throw new InvalidInputError(`${what}: coordinates are too large for exact squared distances (d * (2 * max|x|)^2 > 2^53)`);
  }
  return maxAbs;
}

/** The gap after a partition whose largest key is `top` (strictly more than one ulp of top). */
export function partitionGap(top: number): number {
  return Math.max(1, top * GAP_FRACTION);
}

/** Cumulative offsets from each partition's dmax (see the header for why they never interleave). */
export function partitionOffsets(dmax: ArrayLike<number>): Float64Array {
  const offsets = new Float64Array(dmax.length);
  for (let p = 1; p < dmax.length; p++) {
    const top = offsets[p - 1] + dmax[p - 1];
    offsets[p] = top + partitionGap(top);
  }
  return offsets;
}

/** iDistance key of a template at squared distance `dist2` from the reference point. */
export function iDistanceKey(offset: number, dist2: number): number {
  return offset + Math.sqrt(dist2);
}

/**
 * Builds the iDistance index of integer templates: partitions, integer reference points, keys
 * sorted ascending (ties by template index, so the order is deterministic), and each partition's
 * position range. Empty partitions are dropped and the rest renumbered in key order.
 */
export function buildIDistance(templates: VectorSet, options: IDistanceOptions): IDistanceIndex {
  assertIntegerTemplates(templates);
  const { n, d } = templates;
  if (n < 1) throw new InvalidInputError('templates: at least one template is required');
  if (!Number.isInteger(options.partitions) || options.partitions < 1) {
    throw new InvalidParametersError(`iDistance: partitions = ${options.partitions} must be a positive integer`);
  }
  const k = Math.min(options.partitions, n);
  const clustering = kMeans(templates, {
    k,
    random: options.random,
    maxIterations: options.maxIterations,
    sampleSize: options.sampleSize !== undefined && options.sampleSize < n ? Math.max(options.sampleSize, k) : undefined,
  });

  // Keep non-empty clusters only, in cluster order.
  const sizes = new Uint32Array(k);
  for (let i = 0; i < n; i++) sizes[clustering.assignments[i]]++;
  const renumber = new Int32Array(k).fill(-1);
  let partitions = 0;
  for (let c = 0; c < k; c++) if (sizes[c] > 0) renumber[c] = partitions++;

  const referenceData = new Float64Array(partitions * d);
  for (let c = 0; c < k; c++) {
    const p = renumber[c];
    if (p < 0) continue;
    for (let j = 0; j < d; j++) referenceData[p * d + j] = Math.round(clustering.centroids.data[c * d + j]);
  }

  const partitionOf = new Uint32Array(n);
  const dist2 = new Float64Array(n);
  const dmax = new Float64Array(partitions);
  for (let i = 0; i < n; i++) {
    const p = renumber[clustering.assignments[i]];
    partitionOf[i] = p;
    // Exact: integer coordinates, and d * (2 max|x|)^2 < 2^53 was checked.
    dist2[i] = squaredDistanceAt(templates.data, i * d, referenceData, p * d, d);
    const dist = Math.sqrt(dist2[i]);
    if (dist > dmax[p]) dmax[p] = dist;
  }

  const offsets = partitionOffsets(dmax);

  const keyOf = new Float64Array(n);
  for (let i = 0; i < n; i++) keyOf[i] = iDistanceKey(offsets[partitionOf[i]], dist2[i]);
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => keyOf[a] - keyOf[b] || a - b);
  const keys = new Float64Array(n);
  for (let pos = 0; pos < n; pos++) keys[pos] = keyOf[order[pos]];

  const partitionStarts = new Uint32Array(partitions + 1);
  for (let i = 0; i < n; i++) partitionStarts[partitionOf[i] + 1]++;
  for (let p = 0; p < partitions; p++) partitionStarts[p + 1] += partitionStarts[p];

  return {
    partitions,
    n,
    offsets,
    dmax,
    partitionStarts,
    referencePoints: { n: partitions, d, data: referenceData },
    keys,
    order,
    partitionOf,
  };
}
