/**
 * Shared types of the two-server identification scheme (iDistance + learned segments + HE).
 *
 * Units. Templates are integer vectors (embeddings x 10^3, rounded; see quantize.ts), so squared
 * Euclidean distances are exact integers (below 2^53). iDistance keys and radii are their float
 * square roots: they only choose candidates, with a documented safety margin; every final
 * decision compares exact integer squared distances.
 */
import type { VectorSet } from '../linalg/vectors';

/**
 * The public part of an iDistance index: what CS1 needs to turn query-to-centre distances into
 * key ranges. Partitions are numbered in key order and occupy disjoint key intervals
 * [offsets[i], offsets[i] + dmax[i]], with offsets[i + 1] > offsets[i] + dmax[i].
 */
export interface IDistanceMetadata {
  /** Number of (non-empty) partitions K. */
  readonly partitions: number;
  /** Number of templates. */
  readonly n: number;
  /** Key offset of each partition. */
  readonly offsets: Float64Array;
  /** Largest distance from a partition's reference point to one of its templates. */
  readonly dmax: Float64Array;
  /** K + 1 entries: partition i's templates are at positions [starts[i], starts[i + 1]). */
  readonly partitionStarts: Uint32Array;
}

/** The provider's full iDistance index (plaintext; never leaves the provider as such). */
export interface IDistanceIndex extends IDistanceMetadata {
  /** K x d integer reference points O_i (rounded K-means centroids). */
  readonly referencePoints: VectorSet;
  /** Sorted keys: keys[position] = offset_i + dist(template, O_i). */
  readonly keys: Float64Array;
  /** Storage order: order[position] = index of the template in the input set. */
  readonly order: Uint32Array;
  /** Partition of each input template (input order). */
  readonly partitionOf: Uint32Array;
}

/** One partition that can hold a match, and the key interval to search in it. */
export interface PartitionSearch {
  readonly partition: number;
  readonly keyLo: number;
  readonly keyHi: number;
}

/** A template and its exact squared distance to the query. */
export interface Match {
  readonly id: string;
  /** Exact integer squared Euclidean distance (in quantized units). */
  readonly dist2: number;
}
