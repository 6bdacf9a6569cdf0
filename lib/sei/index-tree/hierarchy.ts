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
 * The nearest-neighbour table over the active nodes. Invariant after every step applied: for
 * every active node i, nn[i] is an active node nearest to i and nnDist[i] their squared distance.
 */
export class NearestNeighbours {
  readonly active: Set<number>;
  readonly nn: number[] = [];
  readonly nnDist: number[] = [];

  constructor(
    private readonly nodes: readonly WorkingNode[],
    private readonly d: number,
  ) {
    this.active = new Set<number>(nodes.map((_, i) => i));
    for (const i of this.active) this.recompute(i);
  }

  /** Scans every active node for the nearest one to i. */
  private recompute(i: number): void {
    let best = -1;
    let bestDist = Number.POSITIVE_INFINITY;
    const ci = this.nodes[i].centre;
    for (const j of this.active) {
      if (j === i) continue;
      const dist = squaredDistanceAt(ci, 0, this.nodes[j].centre, 0, this.d);
      if (dist < bestDist) {
        bestDist = dist;
        best = j;
      }
    }
    this.nn[i] = best;
    this.nnDist[i] = bestDist;
  }

  /** The closest active pair (a, b) and their distance D (not squared). */
  closestPair(): { a: number; b: number; D: number } {
    let a = -1;
    let best = Number.POSITIVE_INFINITY;
    for (const i of this.active) {
      if (this.nnDist[i] < best) {
        best = this.nnDist[i];
        a = i;
      }
    }
    return { a, b: this.nn[a], D: Math.sqrt(best) };
  }

  /**
   * Applies a merge step and restores the invariant: `changed` is the node that is new or whose
   * centre moved, `removed` the nodes that left the active set. Only entries that pointed at one
   * of them, or that `changed` now beats, are recomputed.
   */
  apply({ changed, removed }: MergeStep): void {
    for (const id of removed) this.active.delete(id);
    this.active.add(changed);
    this.recompute(changed);
    const changedCentre = this.nodes[changed].centre;
    for (const i of this.active) {
      if (i === changed) continue;
      if (removed.includes(this.nn[i])) {
        this.recompute(i);
        continue;
      }
      const dist = squaredDistanceAt(this.nodes[i].centre, 0, changedCentre, 0, this.d);
      if (dist <= this.nnDist[i]) {
        this.nn[i] = changed;
        this.nnDist[i] = dist;
      } else if (this.nn[i] === changed) {
        // Its nearest node moved away: someone else may now be nearer.
        this.recompute(i);
      }
    }
  }
}

/** One step of the paper's construction: which node changed and which left the active set. */
interface MergeStep {
  readonly changed: number;
  readonly removed: readonly number[];
}

/** Same level, or DM > Th_t: a and b become the two children of a new parent one level up. */
function mergeUpward(nodes: WorkingNode[], a: number, b: number, D: number, d: number): MergeStep {
  const children = [a, b];
  nodes.push({
    centre: weightedCentre(nodes, children, d),
    children,
    level: Math.max(nodes[a].level, nodes[b].level) + 1,
    ind: D,
    size: nodes[a].size + nodes[b].size,
    members: new Uint32Array(0),
  });
  return { changed: nodes.length - 1, removed: [a, b] };
}

/** DM <= Th_t across levels: the lower node joins the higher one as one more child. */
function joinHigher(nodes: WorkingNode[], a: number, b: number, d: number): MergeStep {
  const [high, low] = nodes[a].level > nodes[b].level ? [a, b] : [b, a];
  const parent = nodes[high];
  // Children's vectors never change, so IND only needs the new child's distances: O(c d).
  parent.ind = Math.max(parent.ind, maxDistanceTo(nodes, parent.children, nodes[low].centre, d));
  parent.children.push(low);
  parent.size += nodes[low].size;
  parent.centre = weightedCentre(nodes, parent.children, d);
  return { changed: high, removed: [low] };
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

  const table = new NearestNeighbours(nodes, d);
  const { active } = table;
  const total = nodes.length - 1;
  let merges = 0;
  while (active.size > 1) {
    const { a, b, D } = table.closestPair();
    const upward = nodes[a].level === nodes[b].level || dmValue(D, nodes[a].ind, nodes[b].ind) > dmThreshold;
    const step = upward ? mergeUpward(nodes, a, b, D, d) : joinHigher(nodes, a, b, d);
    table.apply(step);
    merges++;
    onProgress?.(Math.min(merges, total), total);
  }

  const [root] = active;
  return { nodes, root };
}
