/**
 * GenIndex step 2 (paper 5.3.3): the owner clusters the feature vectors into leaves, builds the
 * tree above them, chooses the search defaults, then encrypts every node vector and every image
 * vector exactly like an image vector (EncIndex), producing the tree the cloud stores.
 *
 * Search defaults (beyond the paper): before building, a sample of the vectors is held out; the
 * tree is built on the rest, recall@10 of the held-out queries is measured for every probe count
 * (and beam), and the cheapest settings that reach the owner's target are stored with the index
 * (lib/ml/probe-calibration.ts). The held-out vectors then join their nearest leaves, so every
 * image is indexed; users get the recall they were promised without tuning.
 */
import { InvalidInputError } from '../../core/errors';
import { secureRandom, type RandomSource } from '../../core/random';
import { selectRows, squaredDistanceAt, type VectorSet } from '../../linalg/vectors';
import { exactNearest } from '../../ml/exact-knn';
import { buildPartition, DEFAULT_LEAF_SIZE, treeFromChildren } from '../../ml/partition';
import { calibrateProbes, candidateBeams } from '../../ml/probe-calibration';
import { sampleIndices } from '../../ml/sampling';
import type { CentroidTree, ProbeCalibration, RoutingStrategy } from '../../ml/types';
import { encryptIndexVector, encryptIndexVectors } from '../index-vector';
import { scoreReduction } from '../score-reduction';
import { encryptedDimension, type OwnerSecret } from '../types';
import { buildCalibratedGraph, renumberGraph } from './graph';
import { buildHierarchy } from './hierarchy';
import { clusterLeaves } from './leaf-clustering';
import type {
  EncryptedIndexTree,
  EncryptedLeaf,
  IndexGraph,
  IndexTreeBuildOptions,
  IndexTreeLayout,
  PlainGraph,
  PlainTree,
  PlainTreeNode,
  SearchDefaults,
} from './types';

export const DEFAULT_BUILD_OPTIONS = {
  layout: 'balanced',
  maxLeafSize: 128,
  splitFactor: 8,
  dmThreshold: 0.5,
  apSampleSize: 2000,
  kMeansSampleSize: 50_000,
  targetRecall: 0.95,
  maxProbes: 64,
} as const;

/** Recall is measured at k = 10 (recall@10), the figure benchmarks and users compare. */
export const CALIBRATION_K = 10;
/** Below this many images nothing is held out: the defaults rank every leaf (exact, and cheap at that size). */
export const MIN_CALIBRATION_IMAGES = 200;
/** Default held-out queries, and the budget (distance coordinates) of their exact neighbours. */
const DEFAULT_CALIBRATION_QUERIES = 500;
const MIN_CALIBRATION_QUERIES = 100;
const CALIBRATION_BUDGET = 5e9;

/** The routing each layout is searched with by default. */
export function layoutStrategy(layout: IndexTreeLayout): RoutingStrategy {
  return layout === 'paper' ? 'descent' : 'beam';
}

function treeDepth(nodes: readonly PlainTreeNode[], root: number): number {
  let depth = 0;
  const stack: [number, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [id, level] = stack.pop()!;
    depth = Math.max(depth, level);
    for (const child of nodes[id].children) stack.push([child, level + 1]);
  }
  return depth;
}

/** The nodes of a tree built on some vectors, and how its leaves were formed. */
interface BuiltShape {
  readonly nodes: PlainTreeNode[];
  readonly root: number;
  readonly source: string;
  readonly topLevelClusters: number;
}

/** Build options with defaults filled in (maxLeafSize stays open for the balanced layout: 2 x leafSize). */
interface ResolvedOptions {
  readonly layout: IndexTreeLayout;
  readonly leafSize?: number;
  readonly groups?: number;
  readonly maxLeafSize?: number;
  readonly splitFactor: number;
  readonly dmThreshold: number;
  readonly apSampleSize: number;
  readonly kMeansSampleSize: number;
  readonly targetRecall: number;
  readonly calibrationQueries?: number;
  readonly maxProbes: number;
  readonly graph?: IndexTreeBuildOptions['graph'];
  readonly random: RandomSource;
  readonly onProgress?: (stage: string, done: number, total: number) => void;
}

function resolveOptions(options: IndexTreeBuildOptions): ResolvedOptions {
  const o = { ...DEFAULT_BUILD_OPTIONS, ...options, random: options.random ?? secureRandom };
  const maxLeafSize = options.maxLeafSize ?? (o.layout === 'paper' ? DEFAULT_BUILD_OPTIONS.maxLeafSize : undefined);
  if (o.layout !== 'balanced' && o.layout !== 'paper') throw new InvalidInputError('layout must be "balanced" or "paper"');
  if (maxLeafSize !== undefined && (!Number.isInteger(maxLeafSize) || maxLeafSize < 1)) {
    throw new InvalidInputError('maxLeafSize must be a positive integer');
  }
  if (o.leafSize !== undefined && (!Number.isInteger(o.leafSize) || o.leafSize < 1)) throw new InvalidInputError('leafSize must be a positive integer');
  if (!Number.isInteger(o.splitFactor) || o.splitFactor < 2) throw new InvalidInputError('splitFactor must be an integer >= 2');
  if (!(o.dmThreshold >= 0) || !Number.isFinite(o.dmThreshold)) throw new InvalidInputError('dmThreshold must be a finite number >= 0');
  if (!(o.targetRecall >= 0 && o.targetRecall <= 1)) throw new InvalidInputError('targetRecall must be a number in [0, 1]');
  if (!Number.isInteger(o.maxProbes) || o.maxProbes < 1) throw new InvalidInputError('maxProbes must be a positive integer');
  if (o.calibrationQueries !== undefined && (!Number.isInteger(o.calibrationQueries) || o.calibrationQueries < 1)) {
    throw new InvalidInputError('calibrationQueries must be a positive integer');
  }
  return { ...o, maxLeafSize };
}

/** The paper's tree: CAK-means leaves (split when oversized) under the DM hierarchy. */
function paperShape(vectors: VectorSet, o: ResolvedOptions): BuiltShape {
  const clustering = clusterLeaves(vectors, {
    maxLeafSize: o.maxLeafSize ?? DEFAULT_BUILD_OPTIONS.maxLeafSize,
    splitFactor: o.splitFactor,
    apSampleSize: o.apSampleSize,
    kMeansSampleSize: o.kMeansSampleSize,
    random: o.random,
    onProgress: o.onProgress && ((done, total) => o.onProgress!('leaves', done, total)),
  });
  const { nodes, root } = buildHierarchy(
    clustering.leaves,
    vectors.d,
    o.dmThreshold,
    o.onProgress && ((done, total) => o.onProgress!('hierarchy', done, total)),
  );
  return { nodes, root, source: clustering.source, topLevelClusters: clustering.topLevelClusters };
}

/** Largest distance between two of the given centres (IND of the paper). */
function largestDistance(centres: Float64Array, ids: readonly number[], d: number): number {
  let max = 0;
  for (let a = 0; a < ids.length; a++) {
    for (let b = a + 1; b < ids.length; b++) max = Math.max(max, squaredDistanceAt(centres, ids[a] * d, centres, ids[b] * d, d));
  }
  return Math.sqrt(max);
}

/** The balanced layout: root -> groups -> leaves of a two-level K-means partition. */
function balancedShape(vectors: VectorSet, o: ResolvedOptions): BuiltShape {
  const partition = buildPartition(vectors, {
    leafSize: o.leafSize,
    maxLeafSize: o.maxLeafSize,
    groups: o.groups,
    kMeansSampleSize: o.kMeansSampleSize,
    random: o.random,
    onProgress: o.onProgress && ((done, total) => o.onProgress!('leaves', done, total)),
  });
  const { tree, centres, members, leafCount } = partition;
  const { d } = centres;
  const nodeCount = centres.n;
  const levels = new Uint32Array(nodeCount);
  const sizes = new Uint32Array(nodeCount);
  const nodes: PlainTreeNode[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const children = Array.from(tree.childIds.subarray(tree.childStart[i], tree.childStart[i + 1]));
    // Children have lower ids than their parents, so levels and sizes are known here.
    for (const c of children) {
      levels[i] = Math.max(levels[i], levels[c] + 1);
      sizes[i] += sizes[c];
    }
    if (i < leafCount) sizes[i] = members[i].length;
    nodes.push({
      centre: centres.data.slice(i * d, (i + 1) * d),
      children,
      level: levels[i],
      ind: largestDistance(centres.data, children, d),
      size: sizes[i],
      members: i < leafCount ? members[i] : new Uint32Array(0),
    });
  }
  const groups = nodeCount - leafCount - 1;
  return { nodes, root: tree.root, source: 'two-level-kmeans', topLevelClusters: Math.max(1, groups) };
}

/** The tree shape as a CentroidTree (leaves numbered in node order, as encryption numbers them). */
export function centroidTreeOf(plain: Pick<PlainTree, 'nodes' | 'root'>): CentroidTree {
  return treeFromChildren(
    plain.nodes.map((node) => node.children),
    plain.root,
  );
}

/** How many vectors to hold out for calibration, or 0 when the index is too small. */
function heldOutCount(n: number, d: number, requested: number | undefined): number {
  if (n < MIN_CALIBRATION_IMAGES) return 0;
  const wanted = requested ?? Math.min(DEFAULT_CALIBRATION_QUERIES, Math.max(MIN_CALIBRATION_QUERIES, Math.floor(CALIBRATION_BUDGET / (n * d))));
  return Math.min(wanted, Math.floor(n / 10));
}

/** Defaults without calibration: probes 1, or every leaf for indexes too small to hold out. */
function uncalibratedDefaults(layout: IndexTreeLayout, tree: CentroidTree, leafCount: number, everyLeaf: boolean, targetRecall: number): SearchDefaults {
  const strategy = layoutStrategy(layout);
  const beams = candidateBeams(tree, strategy);
  return {
    strategy,
    probes: everyLeaf ? leafCount : 1,
    beam: everyLeaf ? beams[beams.length - 1] : 1,
    targetRecall,
    measuredRecall: Number.NaN,
    calibrationQueries: 0,
  };
}

/** The split of the owner's vectors: the ones the tree is built on, and the held-out queries. */
interface HeldOutSplit {
  /** Indices (into all features) of the vectors the tree is built on; undefined: all of them. */
  readonly kept: Uint32Array | undefined;
  readonly heldOut: Uint32Array;
}

/** Draws `held` vectors of n to hold out for calibration (none when held is 0). */
function holdOut(n: number, held: number, random: RandomSource): HeldOutSplit {
  if (held === 0) return { kept: undefined, heldOut: new Uint32Array(0) };
  const heldOut = sampleIndices(n, held, random);
  const isHeld = new Uint8Array(n);
  for (const i of heldOut) isHeld[i] = 1;
  const kept = new Uint32Array(n - held);
  let at = 0;
  for (let i = 0; i < n; i++) if (isHeld[i] === 0) kept[at++] = i;
  return { kept, heldOut };
}

/** Plaintext tree over the owner's feature vectors (kept by the owner, never uploaded). */
export function buildPlainTree(features: VectorSet, buildOptions: IndexTreeBuildOptions = {}): PlainTree {
  const o = resolveOptions(buildOptions);
  if (features.n === 0) throw new InvalidInputError('cannot build an index over zero images');
  const { n, d } = features;

  const calibrate = o.targetRecall > 0;
  const split = holdOut(n, calibrate ? heldOutCount(n, d, o.calibrationQueries) : 0, o.random);
  const { kept, heldOut } = split;
  const base = kept === undefined ? features : selectRows(features, kept);
  const shape = o.layout === 'paper' ? paperShape(base, o) : balancedShape(base, o);
  const tree = centroidTreeOf(shape);
  const leafNodes = shape.nodes.flatMap((node, id) => (node.children.length === 0 ? [id] : []));

  const calibrated = kept === undefined ? undefined : calibrateOnHeldOut(features, base, split, shape, tree, leafNodes, o);
  const search = calibrated?.search ?? uncalibratedDefaults(o.layout, tree, leafNodes.length, calibrate, o.targetRecall);
  const graph = calibrated?.graph;

  const capacity = o.maxLeafSize ?? 2 * (o.leafSize ?? DEFAULT_LEAF_SIZE);
  const nodes = kept === undefined ? shape.nodes : withHeldOut(shape, leafNodes, features, kept, heldOut, capacity);
  return {
    d,
    nodes,
    root: shape.root,
    leafCount: leafNodes.length,
    search,
    ...(graph === undefined ? {} : { graph }),
    stats: {
      layout: o.layout,
      clusteringSource: shape.source,
      topLevelClusters: shape.topLevelClusters,
      leafCount: leafNodes.length,
      maxLeafSize: Math.max(...leafNodes.map((node) => nodes[node].members.length)),
      depth: treeDepth(nodes, shape.root),
      nodeCount: nodes.length,
      calibration: calibrated?.calibration,
    },
  };
}

/** What calibration on held-out vectors decides: the stored search defaults, and the graph when asked for. */
interface Calibrated {
  readonly search: SearchDefaults;
  readonly calibration: ProbeCalibration;
  readonly graph?: PlainGraph;
}

/**
 * Measures recall@10 of the held-out vectors (against their exact neighbours among the kept
 * ones) for every probe count and beam, and keeps the cheapest settings that reach the target;
 * with the graph option, also builds the graph calibrated on the same queries.
 */
function calibrateOnHeldOut(
  features: VectorSet,
  base: VectorSet,
  split: HeldOutSplit,
  shape: BuiltShape,
  tree: CentroidTree,
  leafNodes: number[],
  o: ResolvedOptions,
): Calibrated {
  const { d } = features;
  o.onProgress?.('calibration', 0, 1);
  const queries = selectRows(features, split.heldOut);
  const truth = exactNearest(base, queries, CALIBRATION_K);
  const leafOfVector = new Uint32Array(base.n);
  leafNodes.forEach((node, leaf) => {
    for (const member of shape.nodes[node].members) leafOfVector[member] = leaf;
  });
  const centres = new Float64Array(shape.nodes.length * d);
  shape.nodes.forEach((node, i) => centres.set(node.centre, i * d));
  const calibration = calibrateProbes(
    {
      tree,
      centres: { n: shape.nodes.length, d, data: centres },
      leafOfVector,
      leafSizes: leafNodes.map((node) => shape.nodes[node].members.length),
      queries,
      truth,
    },
    { targetRecall: o.targetRecall, maxProbes: Math.min(o.maxProbes, leafNodes.length), strategy: layoutStrategy(o.layout) },
  );
  const search: SearchDefaults = {
    ...calibration.settings,
    targetRecall: o.targetRecall,
    measuredRecall: calibration.recall,
    calibrationQueries: calibration.queries,
  };
  o.onProgress?.('calibration', 1, 1);
  if (o.graph === undefined || o.graph === false) return { search, calibration };
  const toFeature = (i: number) => split.kept![i];
  const graph = buildCalibratedGraph({
    features,
    tree,
    centres: { n: shape.nodes.length, d, data: centres },
    leafMembers: leafNodes.map((node) => Uint32Array.from(shape.nodes[node].members, toFeature)),
    heldOut: split.heldOut,
    truth: truth.map((ids) => Uint32Array.from(ids, toFeature)),
    targetRecall: o.targetRecall,
    options: {
      ...(typeof o.graph === 'object' ? o.graph : {}),
      onProgress: o.onProgress && ((done, total) => o.onProgress!('graph', done, total)),
    },
  });
  return { search, calibration, graph };
}

/**
 * The shape's nodes with leaf members mapped back to indices of all features, and every held-out
 * vector added to the nearest leaf (by centre) that has room below `capacity` (sizes updated up
 * the tree; centres kept as calibrated).
 */
function withHeldOut(shape: BuiltShape, leafNodes: number[], features: VectorSet, kept: Uint32Array, heldOut: Uint32Array, capacity: number): PlainTreeNode[] {
  const { d } = features;
  const leafCount = leafNodes.length;
  const extra: number[][] = leafNodes.map(() => []);
  const distances = new Float64Array(leafCount);
  const order = new Uint32Array(leafCount);
  for (const i of heldOut) {
    for (let leaf = 0; leaf < leafCount; leaf++) {
      distances[leaf] = squaredDistanceAt(features.data, i * d, shape.nodes[leafNodes[leaf]].centre, 0, d);
      order[leaf] = leaf;
    }
    order.sort((a, b) => distances[a] - distances[b]);
    const roomy = order.find((leaf) => shape.nodes[leafNodes[leaf]].members.length + extra[leaf].length < capacity);
    extra[roomy ?? order[0]].push(i);
  }
  const added = new Uint32Array(shape.nodes.length);
  const nodes = shape.nodes.map((node) => ({ ...node }));
  leafNodes.forEach((node, leaf) => {
    const members = new Uint32Array(nodes[node].members.length + extra[leaf].length);
    nodes[node].members.forEach((m, j) => (members[j] = kept[m]));
    members.set(extra[leaf], nodes[node].members.length);
    nodes[node] = { ...nodes[node], members };
    added[node] = extra[leaf].length;
  });
  // Propagate the added counts to every ancestor.
  const parent = new Int32Array(nodes.length).fill(-1);
  nodes.forEach((node, id) => node.children.forEach((c) => (parent[c] = id)));
  for (const leafNode of leafNodes) {
    for (let p = parent[leafNode]; p >= 0; p = parent[p]) added[p] += added[leafNode];
  }
  return nodes.map((node, id) => ({ ...node, size: node.size + added[id] }));
}

/** Encrypts a plaintext tree: node vectors, then each leaf's image vectors with their ids. */
export function encryptPlainTree(
  owner: OwnerSecret,
  plain: PlainTree,
  features: VectorSet,
  ids: readonly string[],
  onProgress?: (done: number, total: number) => void,
): EncryptedIndexTree {
  if (features.d !== owner.d) {
    throw new InvalidInputError(`features have dimension ${features.d}, the owner key expects ${owner.d}`);
  }
  if (ids.length !== features.n) {
    throw new InvalidInputError(`${ids.length} ids for ${features.n} feature vectors`);
  }
  const m = encryptedDimension(owner.d);
  const nodeCount = plain.nodes.length;
  const nodeVectors = new Float64Array(nodeCount * m);
  const childStart = new Uint32Array(nodeCount + 1);
  const leafOf = new Int32Array(nodeCount).fill(-1);
  const childList: number[] = [];
  const leaves: EncryptedLeaf[] = [];
  const locations = new Map<string, number>();
  let builtMaxLeaf = 0;
  const nodeOfFeature = new Uint32Array(features.n);
  const leafStart: number[] = [0];
  const allVectors = new Float64Array(features.n * m);

  plain.nodes.forEach((node, i) => {
    nodeVectors.set(encryptIndexVector(owner, node.centre), i * m);
    childStart[i] = childList.length;
    childList.push(...node.children);
    if (node.children.length === 0) {
      const members = node.members;
      const encrypted = encryptIndexVectors(owner, selectRows(features, members));
      const leafIds = Array.from(members, (member) => ids[member]);
      const leafIndex = leaves.length;
      for (const id of leafIds) {
        if (locations.has(id)) throw new InvalidInputError(`duplicate image id "${id}"`);
        locations.set(id, leafIndex);
      }
      leafOf[i] = leafIndex;
      const start = leafStart[leafIndex];
      members.forEach((member, slot) => (nodeOfFeature[member] = start + slot));
      leafStart.push(start + members.length);
      // Leaves are views of one buffer in position order, which the graph walk reads directly.
      allVectors.set(encrypted.data, start * m);
      leaves.push({ vectors: allVectors.subarray(start * m, (start + members.length) * m), ids: leafIds, count: members.length });
      builtMaxLeaf = Math.max(builtMaxLeaf, members.length);
    }
    onProgress?.(i + 1, nodeCount);
  });
  childStart[nodeCount] = childList.length;

  const reduction = scoreReduction(owner);
  return {
    d: owner.d,
    m,
    ownerKeyId: owner.keyId,
    nodeVectors,
    childStart,
    childIds: Uint32Array.from(childList),
    leafOf,
    root: plain.root,
    leaves,
    locations,
    updates: { added: 0, deleted: 0, builtSize: features.n, builtMaxLeaf },
    search: plain.search,
    ...(reduction === undefined ? {} : { reduction }),
    ...(plain.graph === undefined ? {} : { graph: encryptedGraph(plain, nodeOfFeature, Uint32Array.from(leafStart), allVectors) }),
  };
}

/**
 * The graph in image positions; preferred when it reached the target and scores fewer vectors
 * per query than the tree's calibrated probes (or those did not reach it).
 */
function encryptedGraph(plain: PlainTree, nodeOfFeature: Uint32Array, leafStart: Uint32Array, vectors: Float64Array): IndexGraph {
  const graph = plain.graph!;
  if (leafStart[leafStart.length - 1] !== graph.graph.n) {
    throw new InvalidInputError(`the graph has ${graph.graph.n} nodes, the tree ${leafStart[leafStart.length - 1]} images`);
  }
  const tree = plain.stats.calibration;
  const preferred = graph.search.reached && (tree === undefined || !tree.reached || graph.search.scoredPerQuery < tree.scoredPerQuery);
  return { ...renumberGraph(graph, nodeOfFeature), leafStart, vectors, search: graph.search, preferred };
}

/** GenIndex: build the plaintext tree and encrypt it. Returns both (the owner keeps `plain`). */
export function buildEncryptedIndexTree(
  owner: OwnerSecret,
  features: VectorSet,
  ids: readonly string[],
  options: IndexTreeBuildOptions = {},
): { tree: EncryptedIndexTree; plain: PlainTree } {
  const plain = buildPlainTree(features, options);
  const tree = encryptPlainTree(
    owner,
    plain,
    features,
    ids,
    options.onProgress && ((done, total) => options.onProgress!('encrypt', done, total)),
  );
  return { tree, plain };
}
