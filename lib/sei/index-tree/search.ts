/**
 * Search (paper 5.3.5): descend from the root to the child whose vector scores best against the
 * trapdoor, rank the leaf's images exactly, and backtrack to the next-best unexplored branch
 * until k results exist. Backtracking is best-first: every child not taken on the way down goes
 * into one priority queue keyed by its score, and the next leaf is reached by a greedy descent
 * from the best queued node (the priority search of hierarchical k-means trees). With
 * `probes: 1` this is the paper's procedure; more probes rank more leaves for higher recall.
 *
 * Scores are f'.t: smaller means nearer (score = gamma*theta*||f - q||^2 + a per-query
 * constant), so for node vectors the score orders children by the distance between the query
 * and the child's centre.
 */
import { InvalidInputError } from '../../core/errors';
import { MinScoreHeap, SmallestK } from '../../core/heaps';
import { dotAt } from '../../linalg/vectors';
import { assertScoreOperands } from '../score';
import type { Trapdoor } from '../types';
import type { EncryptedIndexTree, SearchHit, SearchOptions, SearchResult } from './types';

/** Results are addressed as leafIndex * SLOT_RANGE + slot inside the leaf. */
export const SLOT_RANGE = 2 ** 24;
export const MAX_K = 10_000;

export function validateSearch(tree: Pick<EncryptedIndexTree, 'm' | 'd'>, trapdoor: Trapdoor, options: SearchOptions): void {
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
  const probes = options.probes ?? 1;
  if (!Number.isInteger(probes) || probes < 1) throw new InvalidInputError('probes must be an integer >= 1');
}

/** Ranks every image of one leaf against the trapdoor into `best`. Returns how many were scored. */
function rankLeaf(tree: Pick<EncryptedIndexTree, 'm' | 'leaves'>, leafIndex: number, trapdoor: Trapdoor, best: SmallestK): number {
  const leaf = tree.leaves[leafIndex];
  const { m } = tree;
  const vectors = leaf.vectors;
  const base = leafIndex * SLOT_RANGE;
  for (let slot = 0; slot < leaf.count; slot++) {
    const score = dotAt(vectors, slot * m, trapdoor, 0, m);
    if (score < best.threshold) best.offer(score, base + slot);
  }
  return leaf.count;
}

/** Turns (leaf, slot) addresses into image ids, best first. */
function resolveHits(tree: Pick<EncryptedIndexTree, 'leaves'>, best: SmallestK): SearchHit[] {
  return best.sorted().map(({ score, value }) => {
    const leafIndex = Math.floor(value / SLOT_RANGE);
    return { id: tree.leaves[leafIndex].ids[value - leafIndex * SLOT_RANGE], score };
  });
}

/** The part of a tree the descent needs: node vectors and structure, no leaf contents. */
export type TreeStructure = Pick<
  EncryptedIndexTree,
  'm' | 'nodeVectors' | 'childStart' | 'childIds' | 'leafOf' | 'root'
>;

/**
 * The leaves a search ranks, in visit order: greedy descent, then best-first backtracking,
 * until at least `probes` non-empty leaves are planned and they hold at least k images. Needs
 * only the structure and the leaf sizes, so storage can fetch exactly these leaves.
 */
export function planLeafVisits(
  tree: TreeStructure,
  trapdoor: Trapdoor,
  options: SearchOptions,
  leafSize: (leaf: number) => number,
): { leaves: number[]; nodesScored: number } {
  const probes = options.probes ?? 1;
  const { m, nodeVectors, childStart, childIds, leafOf } = tree;
  const frontier = new MinScoreHeap(64);
  const leaves: number[] = [];
  let images = 0;
  let nodesScored = 0;

  let node: number | undefined = tree.root;
  while (node !== undefined) {
    // Greedy descent, queueing the children not taken.
    while (leafOf[node] < 0) {
      let bestChild = -1;
      let bestScore = Number.POSITIVE_INFINITY;
      for (let c = childStart[node]; c < childStart[node + 1]; c++) {
        const child = childIds[c];
        const score = dotAt(nodeVectors, child * m, trapdoor, 0, m);
        nodesScored++;
        if (score < bestScore) {
          if (bestChild >= 0) frontier.push(bestScore, bestChild);
          bestScore = score;
          bestChild = child;
        } else {
          frontier.push(score, child);
        }
      }
      node = bestChild;
    }
    const leaf = leafOf[node];
    const size = leafSize(leaf);
    if (size > 0) {
      leaves.push(leaf);
      images += size;
    }
    if (leaves.length >= probes && images >= options.k) break;
    node = frontier.pop();
  }
  return { leaves, nodesScored };
}

/** Ranks the images of the given leaves and returns the k best, best first. */
export function rankLeaves(
  tree: Pick<EncryptedIndexTree, 'm' | 'leaves'>,
  leafIndices: readonly number[],
  trapdoor: Trapdoor,
  k: number,
): { hits: SearchHit[]; vectorsScored: number } {
  const best = new SmallestK(k);
  let vectorsScored = 0;
  for (const leaf of leafIndices) vectorsScored += rankLeaf(tree, leaf, trapdoor, best);
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
  const plan = planLeafVisits(tree, trapdoor, options, (leaf) => tree.leaves[leaf].count);
  const { hits, vectorsScored } = rankLeaves(tree, plan.leaves, trapdoor, options.k);
  return { hits, stats: { leavesVisited: plan.leaves.length, vectorsScored, nodesScored: plan.nodesScored } };
}

/**
 * K-anonymity search (paper 5.5): one request carries K trapdoors (one real, K-1 decoys the
 * server cannot tell apart); the server answers every one of them the same way.
 */
export function searchIndexTreeBatch(
  tree: EncryptedIndexTree,
  trapdoors: readonly Trapdoor[],
  options: SearchOptions,
): SearchResult[] {
  if (trapdoors.length === 0) throw new InvalidInputError('a request needs at least one trapdoor');
  return trapdoors.map((trapdoor) => searchIndexTree(tree, trapdoor, options));
}

/**
 * Exact top-k over every image in the tree (a linear scan of all leaves): the reference for
 * recall, and what the tree saves.
 */
export function searchIndexTreeExhaustive(tree: EncryptedIndexTree, trapdoor: Trapdoor, k: number): SearchResult {
  validateSearch(tree, trapdoor, { k });
  const best = new SmallestK(k);
  let vectorsScored = 0;
  for (let leaf = 0; leaf < tree.leaves.length; leaf++) vectorsScored += rankLeaf(tree, leaf, trapdoor, best);
  return { hits: resolveHits(tree, best), stats: { leavesVisited: tree.leaves.length, vectorsScored, nodesScored: 0 } };
}
