/**
 * Which leaves of a centroid tree to rank for one query. The node score is a callback, so the
 * same routing serves a plaintext partition (squared distance to a node centre) and the SEI
 * index tree (encrypted score f'.t, which orders nodes exactly like that distance).
 *
 * - descent (SEI paper 5.3.5): greedy descent to the best child at every level, then best-first
 *   backtracking: every child not taken waits in one priority queue, and the next leaf is reached
 *   by a greedy descent from the best waiting node. With probes = 1 this is the paper's search.
 * - beam: level by level, score the children of the kept nodes and keep the best `beam` internal
 *   nodes; leaves met on the way are collected, and the `probes` best of them are ranked. On the
 *   partition's root -> groups -> leaves tree this is "rank every group, then every leaf of the
 *   best `beam` groups"; with beam = number of groups it ranks every leaf centre flatly.
 *
 * Both always plan at least `probes` leaves (when the tree has them) holding at least
 * `minImages` vectors, so a search can return k results; and the plan for fewer probes is a
 * prefix of the plan for more (calibration relies on it).
 */
import { InvalidInputError } from '../core/errors';
import { MinScoreHeap } from '../core/heaps';
import type { CentroidTree, LeafPlan, RoutingSettings } from './types';

export type NodeScore = (node: number) => number;

export interface PlanOptions {
  /** Plan leaves until they hold at least this many vectors (k of a search). Default 1. */
  readonly minImages?: number;
  /** Vectors in a leaf (empty leaves are skipped). */
  readonly leafSize: (leaf: number) => number;
}

/** Throws InvalidInputError unless the settings are usable (probes >= 1, beam >= 1, known strategy). */
export function validateRoutingSettings(settings: RoutingSettings): void {
  if (settings.strategy !== 'descent' && settings.strategy !== 'beam') {
    throw new InvalidInputError('strategy must be "descent" or "beam"');
  }
  if (!Number.isInteger(settings.probes) || settings.probes < 1) throw new InvalidInputError('probes must be an integer >= 1');
  if (!Number.isInteger(settings.beam) || settings.beam < 1) throw new InvalidInputError('beam must be an integer >= 1');
}

export function planLeaves(tree: CentroidTree, score: NodeScore, settings: RoutingSettings, options: PlanOptions): LeafPlan {
  return settings.strategy === 'beam'
    ? planBeam(tree, score, settings.probes, settings.beam, options)
    : planDescent(tree, score, settings.probes, options);
}

function planDescent(tree: CentroidTree, score: NodeScore, probes: number, options: PlanOptions): LeafPlan {
  const { childStart, childIds, leafOf } = tree;
  const minImages = options.minImages ?? 1;
  const frontier = new MinScoreHeap(64);
  const leaves: number[] = [];
  const nodesScoredAt: number[] = [];
  let images = 0;
  let nodesScored = 0;
  let node: number | undefined = tree.root;
  while (node !== undefined) {
    while (leafOf[node] < 0) {
      let bestChild = -1;
      let bestScore = Number.POSITIVE_INFINITY;
      for (let c = childStart[node]; c < childStart[node + 1]; c++) {
        const child = childIds[c];
        const s = score(child);
        nodesScored++;
        if (s < bestScore) {
          if (bestChild >= 0) frontier.push(bestScore, bestChild);
          bestScore = s;
          bestChild = child;
        } else {
          frontier.push(s, child);
        }
      }
      node = bestChild;
    }
    const leaf = leafOf[node];
    const size = options.leafSize(leaf);
    if (size > 0) {
      leaves.push(leaf);
      nodesScoredAt.push(nodesScored);
      images += size;
    }
    if (leaves.length >= probes && images >= minImages) break;
    node = frontier.pop();
  }
  return { leaves, nodesScored, nodesScoredAt };
}

function planBeam(tree: CentroidTree, score: NodeScore, probes: number, beam: number, options: PlanOptions): LeafPlan {
  const { childStart, childIds, leafOf } = tree;
  const minImages = options.minImages ?? 1;
  // Leaves met so far (by score) and internal nodes scored but left out of the beam.
  const found = new MinScoreHeap(64);
  const spare = new MinScoreHeap(64);
  const leaves: number[] = [];
  const nodesScoredAt: number[] = [];
  let images = 0;
  let nodesScored = 0;

  /** Expands `start` level by level with the beam; leaves go to `found`, dropped nodes to `spare`. */
  const expand = (start: number[]): void => {
    let level = start;
    while (level.length > 0) {
      const next = new MinScoreHeap(64);
      for (const node of level) {
        for (let c = childStart[node]; c < childStart[node + 1]; c++) {
          const child = childIds[c];
          const s = score(child);
          nodesScored++;
          if (leafOf[child] >= 0) found.push(s, child);
          else next.push(s, child);
        }
      }
      level = [];
      while (next.size > 0 && level.length < beam) level.push(next.pop()!);
      while (next.size > 0) {
        const s = next.peekScore();
        spare.push(s, next.pop()!);
      }
    }
  };

  if (leafOf[tree.root] >= 0) found.push(0, tree.root);
  else expand([tree.root]);
  for (;;) {
    while (found.size > 0 && (leaves.length < probes || images < minImages)) {
      const leaf = leafOf[found.pop()!];
      const size = options.leafSize(leaf);
      if (size === 0) continue;
      leaves.push(leaf);
      nodesScoredAt.push(nodesScored);
      images += size;
    }
    if ((leaves.length >= probes && images >= minImages) || spare.size === 0) break;
    // Not enough leaves under the beam: widen best-first with the best node left out.
    expand([spare.pop()!]);
  }
  return { leaves, nodesScored, nodesScoredAt };
}
