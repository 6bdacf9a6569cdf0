/**
 * Search (paper 5.3.5 and beyond): choose leaves with the index's routing (lib/ml/leaf-routing.ts:
 * the paper's greedy descent with best-first backtracking, or a beam per level), then rank the
 * images of those leaves exactly and return the k best. With strategy 'descent' and probes 1 this
 * is the paper's procedure; the index stores calibrated defaults (build.ts) that a request may
 * override.
 *
 * Scores are f'.t: smaller means nearer (score = gamma*theta*||f - q||^2 + a per-query
 * constant), so for node vectors the score orders children by the distance between the query
 * and the child's centre. They are computed by the kernel of scoring.ts (with the index's score
 * reduction when it has one: the same scores with half the work).
 */
import { InvalidInputError } from '../../core/errors';
import { SmallestK } from '../../core/heaps';
import { planLeaves, validateRoutingSettings } from '../../ml/leaf-routing';
import type { LeafPlan, RoutingSettings } from '../../ml/types';
import { assertScoreOperands } from '../score';
import type { Trapdoor } from '../types';
import { EncryptedGraphWalker } from './graph-walk';
import { TrapdoorScorer } from './scoring';
import type { EncryptedIndexTree, IndexGraph, SearchHit, SearchOptions, SearchResult } from './types';

/** Results are addressed as leafIndex * SLOT_RANGE + slot inside the leaf. */
export const SLOT_RANGE = 2 ** 24;
export const MAX_K = 10_000;
/** Largest ef a graph search may ask for. */
export const MAX_EF = 4096;

/** The routing settings of one search: the request's overrides over the index's defaults. */
export function searchSettings(tree: Pick<EncryptedIndexTree, 'search'>, options: SearchOptions): RoutingSettings {
  return {
    strategy: options.strategy ?? tree.search.strategy,
    probes: options.probes ?? tree.search.probes,
    beam: options.beam ?? tree.search.beam,
  };
}

export function validateSearch(tree: Pick<EncryptedIndexTree, 'm' | 'd' | 'search'>, trapdoor: Trapdoor, options: SearchOptions): void {
  if (trapdoor.length !== tree.m) {
    throw new InvalidInputError(
      `trapdoor has ${trapdoor.length} entries, this index needs ${tree.m} (feature dimension ${tree.d})`,
    );
  }
  // Bounded entries keep every score finite (see MAX_SCORE_OPERAND).
  assertScoreOperands(trapdoor, 'trapdoor');
  if (!Number.isInteger(options.k) || options.k < 1 || options.k > MAX_K) {
    throw new InvalidInputError(`k must be an integer from 1 to ${MAX_K}`);
  }
  validateRoutingSettings(searchSettings(tree, options));
  if (options.route !== undefined && options.route !== 'tree' && options.route !== 'graph') throw new InvalidInputError('route must be "tree" or "graph"');
  if (options.ef !== undefined && (!Number.isInteger(options.ef) || options.ef < 1 || options.ef > MAX_EF)) {
    throw new InvalidInputError(`ef must be an integer from 1 to ${MAX_EF}`);
  }
}

/** Whether a search walks the graph: asked for, or the index prefers it and the request does not ask for probes. */
export function usesGraph(tree: Pick<EncryptedIndexTree, 'graph'>, options: SearchOptions): boolean {
  if (options.route === 'graph') {
    if (tree.graph === undefined) throw new InvalidInputError('this index has no proximity graph: search it with route "tree"');
    return true;
  }
  return options.route === undefined && options.probes === undefined && tree.graph?.preferred === true;
}

/** Ranks every image of one leaf into `best`. Returns how many were scored. */
function rankLeaf(tree: Pick<EncryptedIndexTree, 'leaves'>, leafIndex: number, scorer: TrapdoorScorer, best: SmallestK): number {
  const leaf = tree.leaves[leafIndex];
  scorer.rankRows(leaf.vectors, leaf.count, best, leafIndex * SLOT_RANGE);
  return leaf.count;
}

/** Turns (leaf, slot) addresses into image ids, best first. */
function resolveHits(tree: Pick<EncryptedIndexTree, 'leaves'>, best: SmallestK): SearchHit[] {
  return best.sorted().map(({ score, value }) => {
    const leafIndex = Math.floor(value / SLOT_RANGE);
    return { id: tree.leaves[leafIndex].ids[value - leafIndex * SLOT_RANGE], score };
  });
}

/** The part of a tree routing needs: node vectors, structure and scoring data, no leaf contents. */
export type TreeStructure = Pick<
  EncryptedIndexTree,
  'm' | 'nodeVectors' | 'childStart' | 'childIds' | 'leafOf' | 'root' | 'reduction'
>;

/**
 * The leaves a search ranks, best first, until at least `settings.probes` non-empty leaves are
 * planned and they hold at least k images. Needs only the structure and the leaf sizes, so
 * storage can fetch exactly these leaves.
 */
export function planLeafVisits(
  tree: TreeStructure,
  scorer: TrapdoorScorer,
  settings: RoutingSettings,
  k: number,
  leafSize: (leaf: number) => number,
): LeafPlan {
  const { m, nodeVectors } = tree;
  return planLeaves(tree, (node) => scorer.at(nodeVectors, node * m), settings, { minImages: k, leafSize });
}

/** Ranks the images of the given leaves and returns the k best, best first. */
export function rankLeaves(
  tree: Pick<EncryptedIndexTree, 'leaves'>,
  leafIndices: readonly number[],
  scorer: TrapdoorScorer,
  k: number,
): { hits: SearchHit[]; vectorsScored: number } {
  const best = new SmallestK(k);
  let vectorsScored = 0;
  for (const leaf of leafIndices) vectorsScored += rankLeaf(tree, leaf, scorer, best);
  return { hits: resolveHits(tree, best), vectorsScored };
}

/**
 * Top-k search for one trapdoor. Always returns min(k, number of images) hits, sorted by score.
 */
export function searchIndexTree(
  tree: EncryptedIndexTree,
  trapdoor: Trapdoor,
  options: SearchOptions,
): SearchResult {
  validateSearch(tree, trapdoor, options);
  const scorer = TrapdoorScorer.of(tree, trapdoor);
  if (usesGraph(tree, options)) return walkIndexGraph(tree, tree.graph!, scorer, options);
  const plan = planLeafVisits(tree, scorer, searchSettings(tree, options), options.k, (leaf) => tree.leaves[leaf].count);
  const { hits, vectorsScored } = rankLeaves(tree, plan.leaves, scorer, options.k);
  return { hits, stats: { leavesVisited: plan.leaves.length, vectorsScored, nodesScored: plan.nodesScored } };
}

/** One walker per graph (its navigation copy and visited marks), reused by every search of that graph. */
const walkers = new WeakMap<IndexGraph, EncryptedGraphWalker>();

/**
 * Graph search (graph.ts, graph-walk.ts): route to the best leaves with the tree, enter the graph
 * at their entry images, walk keeping the ef best, return the k best by exact score.
 */
function walkIndexGraph(tree: EncryptedIndexTree, graph: IndexGraph, scorer: TrapdoorScorer, options: SearchOptions): SearchResult {
  let walker = walkers.get(graph);
  if (walker === undefined || walker.width !== scorer.width) {
    walker = new EncryptedGraphWalker(tree, graph);
    walkers.set(graph, walker);
  }
  const found = walker.walk(scorer, options.ef ?? graph.search.ef, options.k);
  const { leaves } = tree;
  const { leafStart } = graph;
  // Position to (leaf, slot) for the k results only.
  const hits = Array.from(found.positions, (value, i) => {
    let lo = 0;
    let hi = leaves.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (leafStart[mid] <= value) lo = mid;
      else hi = mid - 1;
    }
    return { id: leaves[lo].ids[value - leafStart[lo]], score: found.scores[i] };
  });
  return { hits, stats: { leavesVisited: found.leavesVisited, vectorsScored: found.vectorsScored, nodesScored: found.nodesScored } };
}

/**
 * Exact top-k over every image in the tree (a linear scan of all leaves): the reference for
 * recall, and what the tree saves.
 */
export function searchIndexTreeExhaustive(tree: EncryptedIndexTree, trapdoor: Trapdoor, k: number): SearchResult {
  validateSearch(tree, trapdoor, { k });
  const scorer = TrapdoorScorer.of(tree, trapdoor);
  const best = new SmallestK(k);
  let vectorsScored = 0;
  for (let leaf = 0; leaf < tree.leaves.length; leaf++) vectorsScored += rankLeaf(tree, leaf, scorer, best);
  return { hits: resolveHits(tree, best), stats: { leavesVisited: tree.leaves.length, vectorsScored, nodesScored: 0 } };
}
