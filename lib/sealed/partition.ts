/**
 * The leaves of a sealed index (owner side): the CAK-means leaf clustering of the SEI index
 * tree (lib/sei/index-tree/leaf-clustering: Affinity Propagation picks K, K-means refines, big
 * clusters are split by K-means until no leaf holds more than `leafSize` images). The client
 * ranks every leaf centroid flatly, so only the leaves matter here, not the tree above them.
 */
import { InvalidInputError } from '../core/errors';
import type { RandomSource } from '../core/random';
import { secureRandom } from '../core/random';
import type { VectorSet } from '../linalg/vectors';
import { clusterLeaves } from '../sei/index-tree/leaf-clustering';

export interface PartitionOptions {
  /** Most images in a leaf. */
  readonly leafSize: number;
  /** Not secret: sampling and seeding of the clustering. Default secureRandom. */
  readonly random?: RandomSource;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface Partition {
  /** Leaf centroids (means of their members) and members (row indices), no leaf empty. */
  readonly leaves: ReadonlyArray<{ readonly centre: Float64Array; readonly members: Uint32Array }>;
  /** How the leaves were found, for logs and benchmarks. */
  readonly source: string;
}

export function partitionVectors(vectors: VectorSet, options: PartitionOptions): Partition {
  if (!Number.isInteger(options.leafSize) || options.leafSize < 1) throw new InvalidInputError('leafSize must be a positive integer');
  const clustering = clusterLeaves(vectors, {
    maxLeafSize: options.leafSize,
    splitFactor: 8,
    apSampleSize: 2000,
    kMeansSampleSize: 50_000,
    random: options.random ?? secureRandom,
    onProgress: options.onProgress,
  });
  return { leaves: clustering.leaves, source: `cak-means (${clustering.source})` };
}
