/**
 * Bottom-up construction of the hierarchical index tree over leaf clusters (paper section 3.2).
 *
 * Repeatedly take the two nearest active nodes a, b (Euclidean distance D between their
 * vectors). Same level: merge them into a new parent. Different levels: compute
 *   DM = |D(a,b) - max(IND_a, IND_b)| / max(IND_a, IND_b)
 * and if DM > Th_t merge them upward into a new parent, otherwise the lower node joins the
 * higher one as another child. IND of a node is the largest distance between two of its
 * children's vectors. Stops when one node (the root) is left.
 *
 * Node vectors are member-weighted centroids (the paper averages child vectors; weighting by
 * the number of images keeps each vector the true centre of what lies below it, which is what
 * the search compares the query with).
 *
 * The nearest pair is found with a nearest-neighbour table: each active node remembers its
 * nearest active node, and only entries that pointed at a changed node are recomputed. That is
 * O(m^2 d) overall for m leaves instead of O(m^3 d) for a naive closest-pair scan per merge.
 */
import { squaredDistanceAt } from '../../linalg/vectors';
import type { PlainTreeNode } from './types';

export interface LeafCluster {
  readonly centre: Float64Array;
  readonly members: Uint32Array;
}

interface WorkingNode {
  centre: Float64Array;
  children: number[];
  level: number;
  ind: number;
  size: number;
  members: Uint32Array;
}

/** DM of the paper; infinite when both INDs are 0 (nothing to compare the distance with). */
export function dmValue(distance: number, indA: number, indB: number): number {
  const reference = Math.max(indA, indB);
  if (reference === 0) return Number.POSITIVE_INFINITY;
  return Math.abs(distance - reference) / reference;
}

function weightedCentre(nodes: WorkingNode[], ids: number[], d: number): Float64Array {
  const centre = new Float64Array(d);
  let total = 0;
  for (const id of ids) {
    const node = nodes[id];
    total += node.size;
    for (let j = 0; j < d; j++) centre[j] += node.centre[j] * node.size;
  }
  if (total > 0) for (let j = 0; j < d; j++) centre[j] /= total;
  return centre;
}

function distance(a: Float64Array, b: Float64Array, d: number): number {
  return Math.sqrt(squaredDistanceAt(a, 0, b, 0, d));
}

/** Largest distance from `vector` to the vectors of the given nodes. */
function maxDistanceTo(nodes: WorkingNode[], ids: number[], vector: Float64Array, d: number): number {
  let max = 0;
  for (const id of ids) max = Math.max(max, distance(nodes[id].centre, vector, d));
  return max;
}

/**
 * Builds the tree above the given leaves. Returns all nodes (leaves first, in input order)
 * and the root id.
 */
export function buildHierarchy(
  leaves: readonly LeafCluster[],
  d: number,
  dmThreshold: number,
  onProgress?: (done: number, total: number) => void,
): { nodes: PlainTreeNode[]; root: number } {
  const nodes: WorkingNode[] = leaves.map((leaf) => ({
    centre: leaf.centre,
    children: [],
    level: 0,
    ind: 0,
    size: leaf.members.length,
    members: leaf.members,
  }));
  if (nodes.length === 1) return { nodes, root: 0 };

  const active = new Set<number>(nodes.map((_, i) => i));
  // Nearest active neighbour of each active node, as node id and squared distance.
  const nn: number[] = [];
  const nnDist: number[] = [];

  const recomputeNearest = (i: number): void => {
    let best = -1;
    let bestDist = Number.POSITIVE_INFINITY;
    const ci = nodes[i].centre;
    for (const j of active) {
      if (j === i) continue;
      const dist = squaredDistanceAt(ci, 0, nodes[j].centre, 0, d);
      if (dist < bestDist) {
        bestDist = dist;
        best = j;
      }
    }
    nn[i] = best;
    nnDist[i] = bestDist;
  };

  for (const i of active) recomputeNearest(i);

  const total = nodes.length - 1;
  let merges = 0;
  while (active.size > 1) {
    // Closest active pair.
    let a = -1;
    let best = Number.POSITIVE_INFINITY;
    for (const i of active) {
      if (nnDist[i] < best) {
        best = nnDist[i];
        a = i;
      }
    }
    const b = nn[a];
    const D = Math.sqrt(best);
    const nodeA = nodes[a];
    const nodeB = nodes[b];

    const removed: number[] = [];
    let changed: number;
    const mergeUpward =
      nodeA.level === nodeB.level || dmValue(D, nodeA.ind, nodeB.ind) > dmThreshold;
    if (mergeUpward) {
      const children = [a, b];
      const parent: WorkingNode = {
        centre: weightedCentre(nodes, children, d),
        children,
        level: Math.max(nodeA.level, nodeB.level) + 1,
        ind: D,
        size: nodeA.size + nodeB.size,
        members: new Uint32Array(0),
      };
      changed = nodes.length;
      nodes.push(parent);
      removed.push(a, b);
      active.delete(a);
      active.delete(b);
      active.add(changed);
    } else {
      // The lower node joins the higher one as one more child.
      const [high, low] = nodeA.level > nodeB.level ? [a, b] : [b, a];
      const parent = nodes[high];
      // Children's vectors never change, so IND only needs the new child's distances: O(c d).
      parent.ind = Math.max(parent.ind, maxDistanceTo(nodes, parent.children, nodes[low].centre, d));
      parent.children.push(low);
      parent.size += nodes[low].size;
      parent.centre = weightedCentre(nodes, parent.children, d);
      changed = high;
      removed.push(low);
      active.delete(low);
    }

    // Repair the nearest-neighbour table.
    recomputeNearest(changed);
    const changedCentre = nodes[changed].centre;
    for (const i of active) {
      if (i === changed) continue;
      if (removed.includes(nn[i])) {
        recomputeNearest(i);
        continue;
      }
      const dist = squaredDistanceAt(nodes[i].centre, 0, changedCentre, 0, d);
      if (dist <= nnDist[i]) {
        nn[i] = changed;
        nnDist[i] = dist;
      } else if (nn[i] === changed) {
        // Its nearest node moved away: someone else may now be nearer.
        recomputeNearest(i);
      }
    }
    merges++;
    onProgress?.(Math.min(merges, total), total);
  }

  const [root] = active;
  return { nodes, root };
}
