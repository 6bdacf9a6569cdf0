/**
 * Balancing leaves to one capacity (owner side). Every sealed leaf is padded to the largest
 * leaf, so uneven leaves waste bytes on every query; balanced leaves make the padding small.
 *
 * Capacity-constrained assignment: the leaf count stays, the capacity is the mean leaf size
 * plus a slack; every vector goes to the nearest centroid that still has room, vectors with the
 * strongest preference (largest gap between their nearest and second-nearest candidate) first;
 * centroids are then recomputed as the means of their members, and the assignment repeated.
 * Candidates are the centroids nearest the vector's current leaf (a neighbour list per leaf),
 * so the cost is n x neighbours x d per round, not n x leaves x d. A vector whose candidates
 * are all full looks further along its leaf's full order of leaves (built once per leaf that
 * needs it) and takes the nearest, by its own distance, of the next `neighbours` leaves with
 * room: never a scan of every leaf per vector, which at a million images would cost hours.
 */
import { squaredDistanceAt } from '../linalg/vectors';
import type { VectorSet } from '../linalg/vectors';
import type { Partition } from './partition';

export interface BalanceOptions {
  /** Capacity = ceil(mean leaf size x (1 + slack)). Default 0.05. */
  readonly slack?: number;
  /** Assignment rounds (each recomputes the centroids). Default 3. */
  readonly rounds?: number;
  /** Candidate leaves per vector: the nearest leaves to its current leaf. Default 24. */
  readonly neighbours?: number;
}

const MAX_KEPT_ORDERS = 1024;

/** Every leaf ordered by the distance of its centroid to leaf a's (a first). */
function leafOrder(centroids: Float64Array, leafCount: number, d: number, a: number): Uint32Array {
  const distance = new Float64Array(leafCount);
  for (let b = 0; b < leafCount; b++) distance[b] = a === b ? -1 : squaredDistanceAt(centroids, a * d, centroids, b * d, d);
  return Uint32Array.from({ length: leafCount }, (_, i) => i).sort((x, y) => distance[x] - distance[y]);
}

/** The `count` leaves whose centroids lie nearest each leaf's centroid (itself first). */
function neighbourLists(centroids: Float64Array, leafCount: number, d: number, count: number): Uint32Array {
  const lists = new Uint32Array(leafCount * count);
  for (let a = 0; a < leafCount; a++) lists.set(leafOrder(centroids, leafCount, d, a).subarray(0, count), a * count);
  return lists;
}

function means(vectors: VectorSet, assignment: Uint32Array, leafCount: number): Float64Array {
  const { n, d, data } = vectors;
  const sums = new Float64Array(leafCount * d);
  const counts = new Uint32Array(leafCount);
  for (let i = 0; i < n; i++) {
    const leaf = assignment[i];
    counts[leaf]++;
    for (let j = 0; j < d; j++) sums[leaf * d + j] += data[i * d + j];
  }
  for (let leaf = 0; leaf < leafCount; leaf++) for (let j = 0; j < d; j++) sums[leaf * d + j] /= Math.max(1, counts[leaf]);
  return sums;
}

/** One capacity-constrained assignment round against fixed centroids. */
function assignWithCapacity(vectors: VectorSet, centroids: Float64Array, current: Uint32Array, leafCount: number, capacity: number, neighbours: number): Uint32Array {
  const { n, d, data } = vectors;
  const lists = neighbourLists(centroids, leafCount, d, neighbours);
  // Each vector's candidates, nearest first.
  const candidates = new Uint32Array(n * neighbours);
  const gaps = new Float64Array(n);
  const distances = new Float64Array(neighbours);
  const order = Array.from({ length: neighbours }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const base = current[i] * neighbours;
    for (let c = 0; c < neighbours; c++) distances[c] = squaredDistanceAt(data, i * d, centroids, lists[base + c] * d, d);
    order.sort((a, b) => distances[a] - distances[b]);
    for (let c = 0; c < neighbours; c++) candidates[i * neighbours + c] = lists[base + order[c]];
    gaps[i] = neighbours > 1 ? distances[order[1]] - distances[order[0]] : 0;
  }
  const byPreference = Array.from({ length: n }, (_, i) => i).sort((a, b) => gaps[b] - gaps[a] || a - b);
  const sizes = new Uint32Array(leafCount);
  const assignment = new Uint32Array(n);
  const orders = new Map<number, Uint32Array>();
  for (const i of byPreference) {
    let chosen = -1;
    for (let c = 0; c < neighbours; c++) {
      const leaf = candidates[i * neighbours + c];
      if (sizes[leaf] < capacity) {
        chosen = leaf;
        break;
      }
    }
    if (chosen < 0) {
      // Further along the current leaf's order: the nearest of the next leaves with room.
      let order = orders.get(current[i]);
      if (order === undefined) {
        order = leafOrder(centroids, leafCount, d, current[i]);
        // Bounded memory: at most MAX_KEPT_ORDERS full orders at a time.
        if (orders.size >= MAX_KEPT_ORDERS) orders.delete(orders.keys().next().value as number);
        orders.set(current[i], order);
      }
      let best = Infinity;
      let seen = 0;
      for (let at = 0; at < leafCount && seen < neighbours; at++) {
        const leaf = order[at];
        if (sizes[leaf] >= capacity) continue;
        seen++;
        const distance = squaredDistanceAt(data, i * d, centroids, leaf * d, d);
        if (distance < best) {
          best = distance;
          chosen = leaf;
        }
      }
    }
    assignment[i] = chosen;
    sizes[chosen]++;
  }
  return assignment;
}

/** The same number of leaves, each holding at most ceil(n / leaves x (1 + slack)) vectors. */
export function balanceLeaves(vectors: VectorSet, partition: Partition, options: BalanceOptions = {}): Partition {
  const leafCount = partition.leaves.length;
  const { n, d } = vectors;
  if (leafCount < 2) return partition;
  const slack = options.slack ?? 0.05;
  const rounds = options.rounds ?? 3;
  const neighbours = Math.min(leafCount, options.neighbours ?? 24);
  const capacity = Math.ceil((n / leafCount) * (1 + slack));
  let assignment: Uint32Array = new Uint32Array(n);
  partition.leaves.forEach((leaf, i) => {
    for (const member of leaf.members) assignment[member] = i;
  });
  let centroids: Float64Array = new Float64Array(leafCount * d);
  partition.leaves.forEach((leaf, i) => centroids.set(leaf.centre, i * d));
  for (let round = 0; round < rounds; round++) {
    assignment = assignWithCapacity(vectors, centroids, assignment, leafCount, capacity, neighbours);
    centroids = means(vectors, assignment, leafCount);
  }
  const members: number[][] = Array.from({ length: leafCount }, () => []);
  for (let i = 0; i < n; i++) members[assignment[i]].push(i);
  const leaves = members
    .map((list, leaf) => ({ centre: centroids.slice(leaf * d, (leaf + 1) * d), members: Uint32Array.from(list) }))
    .filter((leaf) => leaf.members.length > 0);
  return { leaves, source: `${partition.source}, balanced to ${capacity}` };
}
