/**
 * Shared types of the clustering and dimension-reduction family (PCA, K-means, Affinity
 * Propagation, CAK-means). Every algorithm works on a {@link VectorSet}: n vectors of dimension
 * d in one row-major Float64Array.
 */
import type { RandomSource } from '../core/random';
import type { VectorSet } from '../linalg/vectors';

/* ----------------------------------------------------------------------------------------- */
/* PCA                                                                                        */
/* ----------------------------------------------------------------------------------------- */

/**
 * A fitted principal component analysis: y = (x - mean) basis^T. Part of what a user receives
 * (features are projected before encryption), so it is serialisable (see pca-format.ts).
 */
export interface PcaModel {
  /** Dimension of the input vectors. */
  readonly inputDimension: number;
  /** Number of principal components kept (output dimension). */
  readonly components: number;
  /** Mean of the fitting data, inputDimension entries. */
  readonly mean: Float64Array;
  /**
   * Principal axes, components x inputDimension, row-major, orthonormal rows, ordered by
   * decreasing explained variance. Sign convention: the largest-magnitude entry of each row is
   * positive (first such entry on ties), so refitting the same data gives the same model.
   */
  readonly basis: Float64Array;
  /** Variance of the data along each axis (covariance eigenvalues, n - 1 denominator). */
  readonly explainedVariance: Float64Array;
  /** Total variance of the fitting data (trace of the covariance), for explained-variance ratios. */
  readonly totalVariance: number;
}

export interface PcaFitOptions {
  /**
   * Fit on a uniform random sample of this many vectors (without replacement) instead of all
   * of them. The covariance costs O(n d^2); a few tens of thousands of samples usually give
   * the same leading axes. Default: use every vector.
   */
  readonly sampleSize?: number;
  /** Source for the sample (not a secret). Default: secureRandom. */
  readonly random?: RandomSource;
}

/* ----------------------------------------------------------------------------------------- */
/* K-means                                                                                    */
/* ----------------------------------------------------------------------------------------- */

/** 'kmeans++' seeding, or explicit initial centres (one row per cluster). */
export type KMeansInit = 'kmeans++' | VectorSet;

export interface KMeansOptions {
  /** Number of clusters. Optional when `init` is a VectorSet (then k = init.n); must match it if both are given. */
  readonly k?: number;
  /** Initial centres. Default 'kmeans++'. */
  readonly init?: KMeansInit;
  /** Upper bound on Lloyd iterations (update + reassignment). Default 50. */
  readonly maxIterations?: number;
  /**
   * Stop when no assignment changes, or when the total squared movement of the centres in one
   * update is at most tolerance x (mean per-coordinate variance of the data), as in
   * scikit-learn. 0 iterates until the assignments are stable. Default 1e-4.
   */
  readonly tolerance?: number;
  /**
   * Fit the centres on a uniform random sample of this many vectors, then assign every vector
   * to its nearest fitted centre (one extra pass). Trades a little inertia for speed at large n.
   * Default: fit on every vector.
   */
  readonly sampleSize?: number;
  /**
   * kmeans++ seeding runs on a random sample of at most this many vectors (seeding costs
   * O(m k d)). Default 100,000.
   */
  readonly seedingSampleSize?: number;
  /** Randomness for seeding and sampling (not a secret). Default: secureRandom. */
  readonly random?: RandomSource;
}

export interface KMeansResult {
  /** k x d centres. */
  readonly centroids: VectorSet;
  /** Cluster of each input vector, in [0, k). */
  readonly assignments: Uint32Array;
  /** Lloyd iterations performed (centre updates). */
  readonly iterations: number;
  /** Sum over all input vectors of the squared distance to their assigned centre. */
  readonly inertia: number;
  /** True when the tolerance or an unchanged assignment stopped the loop before maxIterations. */
  readonly converged: boolean;
}

/** Nearest centre of each vector. */
export interface NearestAssignment {
  /** Index of the nearest centre (lowest index on ties). */
  readonly assignments: Uint32Array;
  /** Squared Euclidean distance to that centre. */
  readonly squaredDistances: Float64Array;
}

/* ----------------------------------------------------------------------------------------- */
/* Affinity Propagation                                                                       */
/* ----------------------------------------------------------------------------------------- */

/**
 * Similarity s(i, k) between two vectors. 'negative-squared-euclidean' is Frey & Dueck's choice;
 * 'dot-product' is eq. (1) of the SEI paper (equivalent for unit-norm features, since
 * -||x - y||^2 = 2 x.y - 2 and AP is invariant to a positive affine map of all similarities and
 * the preference).
 */
export type SimilarityKind = 'negative-squared-euclidean' | 'dot-product';

/** Dense n x n similarity matrix, row-major. Diagonal entries are ignored (AP writes the preference there). */
export interface SimilarityMatrix {
  readonly n: number;
  readonly values: Float64Array;
  readonly kind: SimilarityKind;
  /** Smallest off-diagonal similarity (before the tie-breaking noise). */
  readonly min: number;
  /** Largest off-diagonal similarity (before the tie-breaking noise). */
  readonly max: number;
}

export interface SimilarityOptions {
  /** Default 'negative-squared-euclidean'. */
  readonly similarity?: SimilarityKind;
  /**
   * Source of the tiny tie-breaking noise added to the similarities (as in the reference
   * implementation: degenerate, e.g. duplicated, inputs otherwise make the messages oscillate).
   * The noise is not a secret; the default is a fixed-seed generator so results are reproducible.
   */
  readonly noiseRandom?: RandomSource;
  /** Refuse more points than this: memory is 3 n^2 doubles (n = 4000 is 384 MB). Default 4000. */
  readonly maxPoints?: number;
}

export interface AffinityPropagationParameters {
  /**
   * Self-similarity s(k, k): larger values give more clusters. Default: the median of the
   * off-diagonal similarities (Frey & Dueck's recommendation for a moderate number of clusters).
   */
  readonly preference?: number;
  /** Message damping lambda in [0.5, 1). Default 0.9 (see AP_DEFAULT_DAMPING for why not 0.5). */
  readonly damping?: number;
  /** Default 500. */
  readonly maxIterations?: number;
  /** Converged once the exemplar set has stayed the same for this many iterations. Default 50 (see AP_DEFAULT_CONVERGENCE_ITERATIONS). */
  readonly convergenceIterations?: number;
}

export interface AffinityPropagationResult {
  /** Indices (into the input) of the exemplars, ascending. Cluster c is represented by exemplars[c]. */
  readonly exemplars: Uint32Array;
  /** Cluster of each input vector, in [0, exemplars.length); exemplars[c] is in cluster c. */
  readonly assignments: Uint32Array;
  readonly iterations: number;
  /**
   * False when maxIterations ran out first. The exemplars are then those of the last iteration
   * (or, if that iteration had none, the single point with the largest self-evidence).
   */
  readonly converged: boolean;
  /** The preference that was used (the median default, or the caller's). */
  readonly preference: number;
}

/* ----------------------------------------------------------------------------------------- */
/* CAK-means                                                                                  */
/* ----------------------------------------------------------------------------------------- */

/** Which path produced the initial centres of the final K-means run. */
export type CakMeansSource =
  /** AP at the requested (or median) preference gave K within [minClusters, maxClusters]. */
  | 'affinity-propagation'
  /** AP gave K outside the bounds; a preference search found a K inside them. */
  | 'affinity-propagation-adjusted'
  /** The preference search failed too: kmeans++ with K clamped into the bounds. */
  | 'kmeans++-fallback'
  /** A single input vector: one cluster, nothing to run. */
  | 'single-point';

export interface CakMeansOptions extends AffinityPropagationParameters {
  /**
   * AP runs on a uniform random sample of at most this many vectors, because it needs O(m^2)
   * memory and time (m = 2500 is 150 MB and a few seconds); K-means then refines on all
   * vectors. Default 2500.
   */
  readonly apSampleSize?: number;
  /** Default 'negative-squared-euclidean'. */
  readonly similarity?: SimilarityKind;
  /** Lower bound on K. Default 1. */
  readonly minClusters?: number;
  /** Upper bound on K. Default: no bound beyond the sample size. */
  readonly maxClusters?: number;
  /**
   * How many extra AP runs the preference search may make when K falls outside the bounds
   * (geometric bisection of the preference). 0 goes straight to the kmeans++ fallback. Default 8.
   */
  readonly preferenceSearchSteps?: number;
  /** Options of the refining K-means (k and init are set by CAK-means). */
  readonly kMeans?: Omit<KMeansOptions, 'k' | 'init' | 'random'>;
  /** Randomness for the AP sample and K-means (not a secret). Default: secureRandom. */
  readonly random?: RandomSource;
  /** Tie-breaking noise of AP (see {@link SimilarityOptions.noiseRandom}). */
  readonly noiseRandom?: RandomSource;
}

export interface CakMeansResult {
  readonly k: number;
  /** k x d refined centres C*_1..C*_K (the leaves of the SEI index tree). */
  readonly centroids: VectorSet;
  /** Cluster of each input vector, in [0, k). */
  readonly assignments: Uint32Array;
  /** Sum of squared distances of every vector to its centre. */
  readonly inertia: number;
  readonly source: CakMeansSource;
  /** Preference of the AP run whose exemplars were used (of the last run for the fallback; NaN if AP never ran). */
  readonly preference: number;
  /** Number of AP runs (1 + preference-search steps used). */
  readonly apRuns: number;
  /** Iterations of the AP run that was used (the last run for the fallback). */
  readonly apIterations: number;
  readonly apConverged: boolean;
  /** Number of vectors AP actually ran on. */
  readonly apSampleSize: number;
  readonly kMeansIterations: number;
  readonly kMeansConverged: boolean;
}

/* ----------------------------------------------------------------------------------------- */
/* Partitions and leaf routing (index trees, sealed leaves)                                   */
/* ----------------------------------------------------------------------------------------- */

/**
 * The shape of a tree of centroids: nodes are numbered, leaves carry a leaf index. Both the SEI
 * index tree (encrypted node vectors) and a plaintext partition (node centres) have this shape,
 * so one routing algorithm serves both with different node scores.
 */
export interface CentroidTree {
  /** Children of node i: childIds[childStart[i] .. childStart[i+1]). */
  readonly childStart: Uint32Array;
  readonly childIds: Uint32Array;
  /** Leaf index of node i, or -1 for an internal node. */
  readonly leafOf: Int32Array;
  readonly root: number;
}

export interface PartitionOptions {
  /**
   * Mean number of vectors per leaf: the partition has about n / leafSize leaves. Default
   * DEFAULT_LEAF_SIZE of partition.ts (chosen by measured search cost), or half of
   * `maxLeafSize` when only that is given.
   */
  readonly leafSize?: number;
  /** Leaves larger than this are split by K-means (bounds the work of ranking one leaf). Default 2 x leafSize. */
  readonly maxLeafSize?: number;
  /**
   * Groups of leaves (the middle level of root -> groups -> leaves). Default: about
   * sqrt(leaves) when there are more than 64 leaves, else 1 (root -> leaves).
   */
  readonly groups?: number;
  /** Each K-means fits on at most this many vectors, then assigns all. Default 50,000. */
  readonly kMeansSampleSize?: number;
  /** Lloyd iterations per K-means. Default 25. */
  readonly maxIterations?: number;
  /** Randomness for sampling and seeding (not secret). Default: secure. */
  readonly random?: RandomSource;
  /** Progress: groups clustered into leaves so far. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * A balanced two-level K-means partition: nodes 0..leafCount-1 are the leaves, then the groups,
 * then the root (a root over the leaves directly when there is one group).
 */
export interface Partition {
  readonly d: number;
  readonly leafCount: number;
  /** Centre of every node (the mean of the vectors below it), in node order. */
  readonly centres: VectorSet;
  readonly tree: CentroidTree;
  /** Indices (into the partitioned vectors) of each leaf's members. */
  readonly members: Uint32Array[];
}

/** How a search chooses leaves: the paper's greedy descent with backtracking, or a beam per level. */
export type RoutingStrategy = 'descent' | 'beam';

export interface RoutingSettings {
  readonly strategy: RoutingStrategy;
  /** Leaves ranked (at least, when they hold fewer than the wanted results). */
  readonly probes: number;
  /** Beam: internal nodes kept per level (ignored by descent). */
  readonly beam: number;
}

/** Leaves to rank for one query, best first, and the routing work done to choose them. */
export interface LeafPlan {
  readonly leaves: number[];
  /** Node scores computed in total. */
  readonly nodesScored: number;
  /** For each planned leaf: node scores computed by the time it was chosen (for prefix costs). */
  readonly nodesScoredAt: number[];
}

/** What calibration chose for a target recall, and what it measured. */
export interface ProbeCalibration {
  readonly settings: RoutingSettings;
  readonly targetRecall: number;
  /** Mean recall@k over the held-out queries with these settings. */
  readonly recall: number;
  /** Standard error of that mean. */
  readonly standardError: number;
  /** Mean vectors plus node vectors scored per query. */
  readonly scoredPerQuery: number;
  readonly queries: number;
  readonly k: number;
  /** False when no allowed setting reached the target: the most thorough one is returned. */
  readonly reached: boolean;
}
