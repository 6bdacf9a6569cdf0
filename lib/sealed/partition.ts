/**
 * The leaves of a sealed index (owner side): the CAK-means leaf clustering of the SEI index
 * tree (lib/sei/index-tree/leaf-clustering: Affinity Propagation picks K, K-means refines, big
 * clusters are split by K-means until no leaf holds more than `leafSize` images), then balanced
 * to one capacity (balance.ts), since every leaf is padded to the largest. The client ranks
 * every leaf centroid flatly, so only the leaves matter here, not the tree above them.
 *
 * Measured on Fashion-MNIST (n = 60,000, PCA 128, int8, 1 MiB per query): CAK-means leaves
 * are 64% full on average (capacity 128); balanced, 95% (capacity 86), so a query reaches
 * recall@10 0.95 with 116 KB of real leaves instead of 155 KB and hides them among 88 leaves
 * instead of 59 (docs/benchmarks.md).
 */
import { InvalidInputError } from '../core/errors';
import type { RandomSource } from '../core/random';
import { secureRandom } from '../core/random';
import type { VectorSet } from '../linalg/vectors';
import { clusterLeaves } from '../sei/index-tree/leaf-clustering';
import { balanceLeaves } from './balance';

export interface PartitionOptions {
  /** Most images in a leaf. */
  readonly leafSize: number;
  /** Not secret: sampling and seeding of the clustering. Default secureRandom. */
  readonly random?: RandomSource;
  readonly onProgress?: (done: number, total: number) => void;
  /** Balance the leaves to one capacity (default true). */
  readonly balance?: boolean;
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
  const partition = { leaves: clustering.leaves, source: `cak-means (${clustering.source})` };
  return options.balance === false ? partition : balanceLeaves(vectors, partition);
}
