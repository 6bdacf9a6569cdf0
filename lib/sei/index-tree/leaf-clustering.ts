/**
 * Leaf clusters of the index tree: CAK-means (Affinity Propagation picks K and the initial
 * centres, K-means refines; paper section 3.1), then every cluster larger than `maxLeafSize` is
 * split recursively by K-means with a small branching factor. The split is beyond the paper:
 * AP's K does not grow with n, so at n = 10^6 its clusters would hold thousands of images each
 * and ranking one leaf would cost as much as a linear scan of a small database.
 */
import { secureRandom } from '../../core/random';
import { InvalidInputError } from '../../core/errors';
import type { RandomSource } from '../../core/random';
import type { VectorSet } from '../../linalg/vectors';
import { cakMeans } from '../../ml/cak-means';
import { centroidOf, groupByAssignment, splitOversized } from '../../ml/partition';
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
    splitOversized(vectors, group, options.maxLeafSize, options.splitFactor, { sampleSize: options.kMeansSampleSize, maxIterations: 25, random }, pieces);
    options.onProgress?.(i + 1, groups.length);
  });
  const leaves = pieces.map((members) => ({ centre: centroidOf(vectors, members), members }));
  return { leaves, source, topLevelClusters };
}
