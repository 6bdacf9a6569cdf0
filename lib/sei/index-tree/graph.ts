/**
 * The index's proximity graph (beyond the paper): the owner links every image to its near
 * neighbours on plaintext (lib/ml/proximity-graph.ts) and stores the links with the encrypted
 * tree; the cloud answers a trapdoor by routing to the best leaf (greedy descent of the tree,
 * probes = entries), entering the graph at that leaf's entry image, and walking the graph
 * best-first with encrypted scores f'.t (graph-walk.ts). A walk only compares scores against one
 * trapdoor, and f'.t orders images exactly like their distance to the query, so the cloud's walk visits
 * exactly the images the owner's plaintext walk would (up to ties, and up to the float32
 * rounding of the cloud's navigation copy: graph-walk.ts), and its results are ranked exactly.
 * It scores far fewer vectors than ranking whole leaves for the same recall.
 *
 * Calibration: the graph is built on the vectors the tree's calibration keeps, the held-out
 * vectors walk it with plaintext distances for a ladder of ef values, and the smallest ef whose
 * recall@10 (mean minus one standard error) reaches the target is stored; then the held-out
 * vectors are inserted, so every image is in the graph. The index searches with the graph by
 * default when that scores fewer vectors per query than the tree's calibrated probes.
 */
import { selectRows, squaredDistanceAt, type VectorSet } from '../../linalg/vectors';
import { planLeaves } from '../../ml/leaf-routing';
import {
  buildProximityGraph,
  emptyGraph,
  GraphWalker,
  insertNode,
  leafEntries,
  type GraphBuildOptions,
  type ProximityGraph,
} from '../../ml/proximity-graph';
import type { CentroidTree, RoutingSettings } from '../../ml/types';
import type { PlainGraph } from './types';

/** ef values the calibration tries, smallest first (a search keeps at least k). */
export const EF_STEPS = [10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256];
/** Leaves whose entry images seed a walk. */
export const GRAPH_ENTRIES = 1;
/** The default graph's calibrated ef from which a denser graph is tried too. */
export const DENSER_GRAPH_EF = 16;
/** Links per image of the denser graph (the default graph has DEFAULT_MAX_DEGREE, 24). */
export const DENSER_GRAPH_DEGREE = 32;
/**
 * The routing that chooses the entry leaves: greedy descent (the entry only needs to be near; on
 * the balanced layout, whose leaves are all at one depth, one probe of it is a beam of 1).
 */
export function entryRouting(entries: number): RoutingSettings {
  return { strategy: 'descent', probes: entries, beam: 1 };
}

export interface GraphCalibrationInput {
  /** All the owner's vectors (graph nodes are their indices). */
  readonly features: VectorSet;
  /** Tree shape over the kept vectors, leaves numbered as in leafMembers. */
  readonly tree: CentroidTree;
  /** Plaintext centre of every tree node (node order). */
  readonly centres: VectorSet;
  /** Members (feature indices) of every leaf, in leaf order. */
  readonly leafMembers: readonly Uint32Array[];
  /** Held-out feature indices (not in any leaf) and their exact 10 nearest kept vectors (feature indices). */
  readonly heldOut: Uint32Array;
  readonly truth: readonly ArrayLike<number>[];
  readonly targetRecall: number;
  readonly options?: GraphBuildOptions;
}

/** Entry nodes of a query: the entry images of its `entries` best leaves. */
function seedsFor(tree: CentroidTree, entryOfLeaf: Uint32Array, leafSizes: (leaf: number) => number, score: (node: number) => number, entries: number) {
  const plan = planLeaves(tree, score, entryRouting(entries), { minImages: 1, leafSize: leafSizes });
  return { seeds: plan.leaves.map((leaf) => entryOfLeaf[leaf]), nodesScored: plan.nodesScored };
}

/** The smallest ef whose held-out recall reaches the target, what it costs, and whether any did. */
interface EfCalibration {
  readonly index: number;
  readonly reached: boolean;
  readonly recall: number;
  readonly scoredPerQuery: number;
}

/** What the calibration walks need besides the graph. */
interface CalibrationContext {
  readonly input: GraphCalibrationInput;
  readonly entryOfLeaf: Uint32Array;
  readonly leafSize: (leaf: number) => number;
}

/**
 * Recall and cost of every ef of EF_STEPS on the held-out queries (walked with plaintext
 * distances, as the cloud walks with encrypted scores); the smallest ef whose recall (mean minus
 * one standard error) reaches the target.
 */
function calibrateEf(walker: GraphWalker, context: CalibrationContext): EfCalibration {
  const { features, tree, centres, heldOut, truth, targetRecall } = context.input;
  const { d } = features;
  const k = truth[0]?.length ?? 10;
  const sum = new Float64Array(EF_STEPS.length);
  const sumSquares = new Float64Array(EF_STEPS.length);
  const cost = new Float64Array(EF_STEPS.length);
  heldOut.forEach((query, q) => {
    const route = seedsFor(tree, context.entryOfLeaf, context.leafSize, (node) => squaredDistanceAt(features.data, query * d, centres.data, node * d, d), GRAPH_ENTRIES);
    const wanted = new Set(Array.from(truth[q]));
    EF_STEPS.forEach((ef, i) => {
      const found = walker.walk((node) => squaredDistanceAt(features.data, query * d, features.data, node * d, d), route.seeds, Math.max(ef, k));
      let hits = 0;
      for (const { value } of found.sorted().slice(0, k)) if (wanted.has(value)) hits++;
      const recall = hits / k;
      sum[i] += recall;
      sumSquares[i] += recall * recall;
      cost[i] += walker.scored + route.nodesScored;
    });
  });
  const count = heldOut.length;
  for (let i = 0; i < EF_STEPS.length; i++) {
    const mean = sum[i] / count;
    const se = count > 1 ? Math.sqrt(Math.max(0, sumSquares[i] / count - mean * mean) / (count - 1)) : 0;
    if (mean - se >= targetRecall) return { index: i, reached: true, recall: mean, scoredPerQuery: cost[i] / count };
  }
  const last = EF_STEPS.length - 1;
  return { index: last, reached: false, recall: sum[last] / count, scoredPerQuery: cost[last] / count };
}

/** A calibration is better when it reached the target and the other did not, or when both did (or neither) and it scores fewer vectors. */
function cheaper(a: EfCalibration, b: EfCalibration): boolean {
  if (a.reached !== b.reached) return a.reached;
  return a.scoredPerQuery < b.scoredPerQuery;
}

/**
 * Builds the graph on the kept vectors, calibrates ef on the held-out ones, then inserts them.
 * Without an explicit maxDegree, data on which the default graph needs ef >= DENSER_GRAPH_EF
 * (CNN features, measured) is given a second, denser graph (DENSER_GRAPH_DEGREE links), and the
 * graph that scores fewer vectors per query at the target recall is kept: on Fashion-MNIST CNN
 * features degree 32 reaches recall 0.95 at ef 12 where degree 24 needs ef 24-32. Data the
 * default graph walks cheaply (synthetic clusters, pixels) pays for one graph only.
 */
export function buildCalibratedGraph(input: GraphCalibrationInput): PlainGraph {
  const { features, tree, centres, leafMembers, heldOut } = input;
  const { d } = features;
  const leafNode = new Uint32Array(leafMembers.length);
  for (let node = 0; node < tree.leafOf.length; node++) if (tree.leafOf[node] >= 0) leafNode[tree.leafOf[node]] = node;
  const leaves = { members: leafMembers, centres: selectRows(centres, leafNode) };
  const context: CalibrationContext = { input, entryOfLeaf: leafEntries(features, leaves), leafSize: (leaf) => leafMembers[leaf].length };

  let graph = buildProximityGraph(features, leaves, input.options);
  let walker = new GraphWalker(graph);
  let calibration = calibrateEf(walker, context);
  if (input.options?.maxDegree === undefined && EF_STEPS[calibration.index] >= DENSER_GRAPH_EF) {
    const denser = buildProximityGraph(features, leaves, { ...input.options, maxDegree: DENSER_GRAPH_DEGREE });
    const denserWalker = new GraphWalker(denser);
    const denserCalibration = calibrateEf(denserWalker, context);
    if (cheaper(denserCalibration, calibration)) {
      graph = denser;
      walker = denserWalker;
      calibration = denserCalibration;
    }
  }

  // Every held-out vector joins the graph, seeded like a search for it.
  const efConstruction = Math.max(2 * graph.maxDegree, EF_STEPS[calibration.index]);
  for (const node of heldOut) {
    const route = seedsFor(tree, context.entryOfLeaf, context.leafSize, (c) => squaredDistanceAt(features.data, node * d, centres.data, c * d, d), GRAPH_ENTRIES);
    insertNode(graph, features, node, route.seeds, { efConstruction, alpha: input.options?.alpha, walker });
  }
  return {
    graph,
    entryOfLeaf: context.entryOfLeaf,
    search: {
      ef: EF_STEPS[calibration.index],
      entries: GRAPH_ENTRIES,
      targetRecall: input.targetRecall,
      measuredRecall: calibration.recall,
      scoredPerQuery: calibration.scoredPerQuery,
      calibrationQueries: heldOut.length,
      reached: calibration.reached,
    },
  };
}

/**
 * The graph renumbered for the encrypted tree, whose images are numbered by position: leaf 0's
 * slots first, then leaf 1's, and so on. `nodeOfFeature` maps a feature index to that position.
 */
export function renumberGraph(plain: PlainGraph, nodeOfFeature: Uint32Array): { graph: ProximityGraph; entryOfLeaf: Uint32Array } {
  const { n, maxDegree, neighbours, degree } = plain.graph;
  const out = emptyGraph(n, maxDegree);
  for (let i = 0; i < n; i++) {
    const to = nodeOfFeature[i];
    out.degree[to] = degree[i];
    for (let e = 0; e < degree[i]; e++) out.neighbours[to * maxDegree + e] = nodeOfFeature[neighbours[i * maxDegree + e]];
  }
  return { graph: out, entryOfLeaf: Uint32Array.from(plain.entryOfLeaf, (f) => nodeOfFeature[f]) };
}
