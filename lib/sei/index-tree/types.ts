/**
 * Types of the SEI hierarchical index tree (paper section 3.2, 5.3.3). The owner builds a
 * plaintext tree from cluster centres, then encrypts every node vector and every image vector;
 * the cloud only ever holds the encrypted tree.
 */
import type { RandomSource } from '../../core/random';
import type { GraphBuildOptions, ProximityGraph } from '../../ml/proximity-graph';
import type { ProbeCalibration, RoutingSettings, RoutingStrategy } from '../../ml/types';
import type { ScoreReduction } from '../score-reduction';

/**
 * How the owner forms the tree:
 * - 'balanced' (default): a two-level K-means partition (lib/ml/partition.ts), root -> groups
 *   -> leaves of about `leafSize` images, searched with beam routing. Reaches high recall on
 *   real features with few leaves.
 * - 'paper': the SEI paper's tree, CAK-means leaves (split above `maxLeafSize`) under the
 *   bottom-up DM hierarchy of section 3.2, searched by greedy descent (probes 1 is the paper's
 *   search). Kept for fidelity.
 */
export type IndexTreeLayout = 'balanced' | 'paper';

/** How the owner builds the tree. */
export interface IndexTreeBuildOptions {
  /** Default 'balanced'. */
  readonly layout?: IndexTreeLayout;
  /** Balanced layout: mean images per leaf. Default DEFAULT_LEAF_SIZE of lib/ml/partition.ts. */
  readonly leafSize?: number;
  /** Balanced layout: groups of leaves. Default about sqrt(leaves) (1 for 64 leaves or fewer). */
  readonly groups?: number;
  /**
   * Leaves larger than this are split by K-means (beyond the paper: it bounds the work of
   * ranking one leaf, which keeps search time flat as n grows). Default 128 for the paper
   * layout, 2 x leafSize for the balanced one.
   */
  readonly maxLeafSize?: number;
  /** Branching factor of those splits. Default 8. */
  readonly splitFactor?: number;
  /** DM threshold Th_t of section 3.2. Default 0.5 (the paper's value). */
  readonly dmThreshold?: number;
  /** Affinity Propagation runs on at most this many points (it is O(n^2)). Default 2000. */
  readonly apSampleSize?: number;
  /** K-means fits on at most this many points, then assigns all. Default 50,000. */
  readonly kMeansSampleSize?: number;
  /**
   * Recall@10 the search defaults must reach: the build holds out vectors, measures recall on
   * them and stores the cheapest probes (and beam) that reach it. Default 0.95. 0 skips the
   * calibration: the defaults are then probes 1 (with the paper layout, the paper's search).
   * Indexes too small to hold vectors out (under 200 images) rank every leaf by default.
   */
  readonly targetRecall?: number;
  /** Held-out queries for the calibration. Default: 500, fewer for very large n (bounded cost). */
  readonly calibrationQueries?: number;
  /** Largest probe count the calibration may choose. Default 64 (CS1's request limit). */
  readonly maxProbes?: number;
  /**
   * Also link the images into a proximity graph (graph.ts) that the cloud walks with encrypted
   * scores, its ef calibrated for `targetRecall` like the probes (only when the build
   * calibrates). Options tune its degree and candidates. Default false: the stored index format
   * (format.ts) does not carry the graph yet, so indexes uploaded to the cloud are searched with
   * the tree; the library, the benchmarks and the evaluation search with it in process.
   */
  readonly graph?: boolean | GraphBuildOptions;
  /** Randomness for sampling and seeding (not secret). Default: secure. */
  readonly random?: RandomSource;
  /** Progress callback for long builds. */
  readonly onProgress?: (stage: string, done: number, total: number) => void;
}

/** A node of the plaintext tree the owner builds: C = {V, E, IND} of the paper. */
export interface PlainTreeNode {
  /** Member-weighted centroid of everything under the node (the paper's V). */
  readonly centre: Float64Array;
  /** Child node ids (empty for a leaf). */
  readonly children: number[];
  /** Level: 0 for leaves, parents above their children. */
  readonly level: number;
  /** IND: the largest distance between two children's vectors (0 for a leaf). */
  readonly ind: number;
  /** Number of images under the node. */
  readonly size: number;
  /** For a leaf: indices (into the owner's vectors) of its images. */
  readonly members: Uint32Array;
}

export interface PlainTree {
  readonly d: number;
  readonly nodes: PlainTreeNode[];
  readonly root: number;
  readonly leafCount: number;
  /** How the leaves were formed (CAK-means path, K, splits), for logs and benchmarks. */
  readonly stats: PlainTreeStats;
  /** The search defaults the build chose (and what it measured for them). */
  readonly search: SearchDefaults;
  /** The proximity graph over the images (feature indices), when built. */
  readonly graph?: PlainGraph;
}

/** The graph's search settings, chosen by the build like the probes. */
export interface GraphSearchDefaults {
  /** Candidates a walk keeps (HNSW's ef): more, higher recall. */
  readonly ef: number;
  /** Leaves whose entry images seed a walk. */
  readonly entries: number;
  readonly targetRecall: number;
  /** Recall@10 measured on held-out vectors with this ef. */
  readonly measuredRecall: number;
  /** Mean vectors plus node vectors scored per held-out query with this ef. */
  readonly scoredPerQuery: number;
  readonly calibrationQueries: number;
  /** False when no ef tried reached the target (the largest is stored). */
  readonly reached: boolean;
}

/** The owner's plaintext graph (nodes are feature indices). */
export interface PlainGraph {
  readonly graph: ProximityGraph;
  /** Entry image (feature index) of every leaf, in leaf order. */
  readonly entryOfLeaf: Uint32Array;
  readonly search: GraphSearchDefaults;
}

/**
 * The graph as the cloud holds it: nodes are image positions (leaf 0's slots, then leaf 1's, ...),
 * links between them, an entry image per leaf, and the calibrated settings. No vector and no
 * distance: only which images the owner found near each other (see the threat model).
 */
export interface IndexGraph {
  readonly graph: ProximityGraph;
  readonly entryOfLeaf: Uint32Array;
  /** First position of every leaf (leafStart[leaves] = images). */
  readonly leafStart: Uint32Array;
  /** Every image's encrypted vector in position order (the leaves' vectors are views of it). */
  readonly vectors: Float64Array;
  readonly search: GraphSearchDefaults;
  /** Search with the graph unless a request asks for the tree (the build found it cheaper). */
  readonly preferred: boolean;
}

/** Search settings stored with an index, used when a request does not override them. */
export interface SearchDefaults extends RoutingSettings {
  /** Recall@10 the owner asked for (0 when the build did not calibrate). */
  readonly targetRecall: number;
  /** Recall@10 measured on held-out vectors with these settings (NaN when not calibrated). */
  readonly measuredRecall: number;
  /** Held-out queries it was measured on (0 when not calibrated). */
  readonly calibrationQueries: number;
}

export interface PlainTreeStats {
  readonly layout: IndexTreeLayout;
  readonly clusteringSource: string;
  readonly topLevelClusters: number;
  readonly leafCount: number;
  readonly maxLeafSize: number;
  readonly depth: number;
  readonly nodeCount: number;
  /** The calibration behind the search defaults, when the build calibrated. */
  readonly calibration?: ProbeCalibration;
}

/**
 * A leaf of the encrypted tree: its images' encrypted vectors (row-major, 2d+2 each, with
 * spare capacity so dynamic inserts do not reallocate every time) and ids.
 */
export interface EncryptedLeaf {
  vectors: Float64Array;
  ids: string[];
  /** Number of images in the leaf (vectors beyond count * m are spare capacity). */
  count: number;
}

/** The cloud's view: encrypted node vectors, structure, and encrypted leaves. Nothing else. */
export interface EncryptedIndexTree {
  /** Feature dimension d (encrypted vectors have m = 2d+2 entries). */
  readonly d: number;
  readonly m: number;
  /** Key id of the owner secret that encrypted it; trapdoors must come from a key it issued. */
  readonly ownerKeyId: string;
  /** Encrypted node vectors, node i at [i*m, (i+1)*m). */
  readonly nodeVectors: Float64Array;
  /** Children of node i: childIds[childStart[i] .. childStart[i+1]). */
  readonly childStart: Uint32Array;
  readonly childIds: Uint32Array;
  /** For node i: index into `leaves`, or -1 for an internal node. */
  readonly leafOf: Int32Array;
  readonly root: number;
  readonly leaves: EncryptedLeaf[];
  /** Where each image id lives (leaf index), for deletes and duplicate checks. */
  readonly locations: Map<string, number>;
  /** Settings a search uses unless it overrides them. */
  readonly search: SearchDefaults;
  /** Halves the scoring work (score-reduction.ts); absent for old indexes and rare keys. */
  readonly reduction?: ScoreReduction;
  /** The proximity graph, when the build made one. Adding or deleting an image drops it (update.ts). */
  graph?: IndexGraph;
  /** Counters since the build, for rebuild advice. */
  readonly updates: { added: number; deleted: number; builtSize: number; builtMaxLeaf: number };
}

export interface SearchOptions {
  /** Number of results wanted. */
  readonly k: number;
  /**
   * Minimum number of leaves to rank (beyond the paper; 1 with descent is the paper's
   * behaviour: one leaf, then backtracking only while fewer than k results exist). More probes,
   * higher recall. Default: the index's calibrated value.
   */
  readonly probes?: number;
  /** Routing; default the index's (beam for balanced trees, descent for the paper's). */
  readonly strategy?: RoutingStrategy;
  /** Beam routing: internal nodes kept per level. Default the index's. */
  readonly beam?: number;
  /**
   * 'graph' walks the index's proximity graph, 'tree' ranks the planned leaves. Default: the
   * graph when the index has one that its build preferred and no probes are asked for.
   */
  readonly route?: 'tree' | 'graph';
  /** Graph walk: candidates kept (at least k). Default the index's calibrated ef. */
  readonly ef?: number;
}

export interface SearchHit {
  readonly id: string;
  /** The encrypted score f'.t: smaller is nearer; comparable only within one trapdoor. */
  readonly score: number;
}

export interface SearchStats {
  readonly leavesVisited: number;
  readonly vectorsScored: number;
  readonly nodesScored: number;
}

export interface SearchResult {
  readonly hits: SearchHit[];
  readonly stats: SearchStats;
}

