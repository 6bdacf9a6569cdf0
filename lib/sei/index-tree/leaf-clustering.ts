/**
 * Leaf clusters of the index tree: CAK-means (Affinity Propagation picks K and the initial
 * centres, K-means refines; paper section 3.1), then every cluster larger than `maxLeafSize` is
 * split recursively by K-means with a small branching factor. The split is beyond the paper:
 * AP's K does not grow with n, so at n = 10^6 its clusters would hold thousands of images each
 * and ranking one leaf would cost as much as a linear scan of a small database.
 */
import { secureRandom, type RandomSource } from '../../core/random';
import { InvalidInputError } from '../../core/errors';
import { selectRows, type VectorSet } from '../../linalg/vectors';
import { cakMeans } from '../../ml/cak-means';
import { kMeans } from '../../ml/kmeans';
import type { LeafCluster } from './hierarchy';

export interface LeafClusteringOptions {
  readonly maxLeafSize: number;
  readonly splitFactor: number;
  readonly apSampleSize: number;
  readonly kMeansSampleSize: number;
  readonly random?: RandomSource;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface LeafClustering {
  readonly leaves: LeafCluster[];
  /** How CAK-means chose K (AP, or its documented fallback). */
  readonly source: string;
  readonly topLevelClusters: number;
}

/** Mean of the given rows of `vectors`. */
export function centroidOf(vectors: VectorSet, members: ArrayLike<number>): Float64Array {
  const { d, data } = vectors;
  const centre = new Float64Array(d);
  for (let k = 0; k < members.length; k++) {
    const off = members[k] * d;
    for (let j = 0; j < d; j++) centre[j] += data[off + j];
  }
  for (let j = 0; j < d; j++) centre[j] /= Math.max(1, members.length);
  return centre;
}

/** Groups member indices by cluster assignment, dropping empty clusters. */
function groupByAssignment(members: Uint32Array, assignments: Uint32Array, k: number): Uint32Array[] {
  const counts = new Uint32Array(k);
  for (let i = 0; i < assignments.length; i++) counts[assignments[i]]++;
  const groups = Array.from(counts, (c) => new Uint32Array(c));
  const fill = new Uint32Array(k);
  for (let i = 0; i < assignments.length; i++) {
    const c = assignments[i];
    groups[c][fill[c]++] = members[i];
  }
  return groups.filter((g) => g.length > 0);
}

/** Splits `members` into pieces of at most maxLeafSize, recursively, by K-means. */
function splitOversized(
  vectors: VectorSet,
  members: Uint32Array,
  options: LeafClusteringOptions,
  random: RandomSource,
  out: Uint32Array[],
): void {
  if (members.length <= options.maxLeafSize) {
    out.push(members);
    return;
  }
  const k = Math.min(options.splitFactor, Math.ceil(members.length / options.maxLeafSize));
  const subset = selectRows(vectors, members);
  const result = kMeans(subset, {
    k,
    maxIterations: 25,
    random,
    sampleSize: options.kMeansSampleSize,
  });
  const groups = groupByAssignment(members, result.assignments, k);
  if (groups.length < 2) {
    // K-means cannot separate identical vectors: cut the run into equal chunks instead.
    for (let start = 0; start < members.length; start += options.maxLeafSize) {
      out.push(members.subarray(start, start + options.maxLeafSize));
    }
    return;
  }
  for (const group of groups) splitOversized(vectors, group, options, random, out);
}

export function clusterLeaves(vectors: VectorSet, options: LeafClusteringOptions): LeafClustering {
  if (vectors.n === 0) throw new InvalidInputError('cannot build an index over zero images');
  const random = options.random ?? secureRandom;
  const all = new Uint32Array(vectors.n);
  for (let i = 0; i < vectors.n; i++) all[i] = i;

  let groups: Uint32Array[];
  let source: string;
  if (vectors.n <= 2) {
    groups = [all];
    source = 'single';
  } else {
    const top = cakMeans(vectors, {
      apSampleSize: options.apSampleSize,
      kMeans: { sampleSize: options.kMeansSampleSize, maxIterations: 30 },
      random,
    });
    groups = groupByAssignment(all, top.assignments, top.k);
    source = top.source;
  }
  const topLevelClusters = groups.length;

  const pieces: Uint32Array[] = [];
  groups.forEach((group, i) => {
    splitOversized(vectors, group, options, random, pieces);
    options.onProgress?.(i + 1, groups.length);
  });
  const leaves = pieces.map((members) => ({ centre: centroidOf(vectors, members), members }));
  return { leaves, source, topLevelClusters };
}
