/**
 * Balanced two-level K-means partition of feature vectors: K-means into groups, then each group
 * into leaves of about `leafSize` vectors, leaves above `maxLeafSize` split again. The result is
 * a tree root -> groups -> leaves whose node centres route a query to its leaves
 * (leaf-routing.ts): ranking every leaf centre flatly reaches high recall with few leaves on real
 * features, where the paper's bottom-up hierarchy needs many more (docs/benchmarks.md).
 *
 * Two levels instead of one K-means over all leaves: at n = 10^6 and 8,000 leaves a flat
 * K-means costs n x 8,000 distances per iteration; groups first cost n x (groups + leaves per
 * group), about 180 per vector. Every leaf lies inside one group by construction.
 */
import { InvalidInputError } from '../core/errors';
import { secureRandom, type RandomSource } from '../core/random';
import { selectRows, type VectorSet } from '../linalg/vectors';
import { kMeans } from './kmeans';
import type { CentroidTree, Partition, PartitionOptions } from './types';
import { assertVectorSet, checkInteger } from './validation';

/** Default mean leaf size (see docs/benchmarks.md for the measured trade-off). */
export const DEFAULT_LEAF_SIZE = 128;
/** With at most this many leaves the root holds the leaves directly (no group level). */
export const FLAT_LEAF_LIMIT = 64;
const DEFAULT_SAMPLE_SIZE = 50_000;
const DEFAULT_ITERATIONS = 25;

/** Mean of the given rows of `vectors`. */
export function centroidOf(vectors: VectorSet, members: ArrayLike<number>): Float64Array {
  const { d, data } = vectors;
  const centre = new Float64Array(d);
  for (let k = 0; k < members.length; k++) {
    const off = members[k] * d;
    for (let j = 0; j < d; j++) centre[j] += data[off + j];
  }
  for (let j = 0; j < d; j++) centre[j] /= Math.max(1, members.length);
  return centre;
}

/** Groups member indices by cluster assignment, dropping empty clusters. */
export function groupByAssignment(members: Uint32Array, assignments: Uint32Array, k: number): Uint32Array[] {
  const counts = new Uint32Array(k);
  for (let i = 0; i < assignments.length; i++) counts[assignments[i]]++;
  const groups = Array.from(counts, (c) => new Uint32Array(c));
  const fill = new Uint32Array(k);
  for (let i = 0; i < assignments.length; i++) {
    const c = assignments[i];
    groups[c][fill[c]++] = members[i];
  }
  return groups.filter((g) => g.length > 0);
}

interface ClusterSettings {
  readonly sampleSize: number;
  readonly maxIterations: number;
  readonly random: RandomSource;
}

/** K-means of the given members into at most k clusters (fewer if some come out empty). */
function clusterMembers(vectors: VectorSet, members: Uint32Array, k: number, settings: ClusterSettings): Uint32Array[] {
  if (k <= 1 || members.length <= 1) return [members];
  const subset = selectRows(vectors, members);
  const result = kMeans(subset, {
    k: Math.min(k, members.length),
    maxIterations: settings.maxIterations,
    sampleSize: Math.min(settings.sampleSize, members.length),
    random: settings.random,
  });
  return groupByAssignment(members, result.assignments, result.centroids.n);
}

/** Splits `members` into pieces of at most maxLeafSize by K-means (equal chunks if K-means cannot separate them). */
export function splitOversized(
  vectors: VectorSet,
  members: Uint32Array,
  maxLeafSize: number,
  splitFactor: number,
  settings: ClusterSettings,
  out: Uint32Array[],
): void {
  if (members.length <= maxLeafSize) {
    out.push(members);
    return;
  }
  const k = Math.min(splitFactor, Math.ceil(members.length / maxLeafSize));
  const groups = clusterMembers(vectors, members, k, settings);
  if (groups.length < 2) {
    // Identical vectors: K-means cannot separate them, so cut the run into equal chunks.
    for (let start = 0; start < members.length; start += maxLeafSize) out.push(members.subarray(start, start + maxLeafSize));
    return;
  }
  for (const group of groups) splitOversized(vectors, group, maxLeafSize, splitFactor, settings, out);
}

/** Default number of groups for a number of leaves (see {@link PartitionOptions.groups}). */
export function defaultGroupCount(leaves: number): number {
  return leaves <= FLAT_LEAF_LIMIT ? 1 : Math.round(Math.sqrt(leaves));
}

/**
 * Partitions `vectors` (see the module comment). Deterministic for a seeded `random`.
 * @throws InvalidInputError for empty or non-finite input; InvalidParametersError for bad options.
 */
export function buildPartition(vectors: VectorSet, options: PartitionOptions = {}): Partition {
  assertVectorSet(vectors, 'vectors to partition', 1);
  // A maximum alone implies a mean of half of it (as the default maximum is twice the mean).
  const impliedLeafSize = options.maxLeafSize === undefined ? DEFAULT_LEAF_SIZE : Math.max(1, Math.floor(options.maxLeafSize / 2));
  const leafSize = checkInteger(options.leafSize ?? impliedLeafSize, 'leafSize', 1);
  const maxLeafSize = checkInteger(options.maxLeafSize ?? 2 * leafSize, 'maxLeafSize', leafSize);
  const settings: ClusterSettings = {
    sampleSize: checkInteger(options.kMeansSampleSize ?? DEFAULT_SAMPLE_SIZE, 'kMeansSampleSize', 1),
    maxIterations: checkInteger(options.maxIterations ?? DEFAULT_ITERATIONS, 'maxIterations', 1),
    random: options.random ?? secureRandom,
  };
  const { n } = vectors;
  const targetLeaves = Math.max(1, Math.round(n / leafSize));
  const groupCount = checkInteger(options.groups ?? defaultGroupCount(targetLeaves), 'groups', 1, Math.max(1, targetLeaves));

  const all = new Uint32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const groups = clusterMembers(vectors, all, groupCount, settings);
  const leafGroups: Uint32Array[][] = [];
  groups.forEach((group, i) => {
    const pieces: Uint32Array[] = [];
    for (const leaf of clusterMembers(vectors, group, Math.max(1, Math.round(group.length / leafSize)), settings)) {
      splitOversized(vectors, leaf, maxLeafSize, 8, settings, pieces);
    }
    leafGroups.push(pieces);
    options.onProgress?.(i + 1, groups.length);
  });
  return assemblePartition(vectors, leafGroups);
}

/**
 * The partition tree over leaves already grouped: node ids are the leaves (in group order),
 * then one node per group (skipped when there is a single group), then the root.
 */
export function assemblePartition(vectors: VectorSet, leafGroups: Uint32Array[][]): Partition {
  const members = leafGroups.flat();
  if (members.length === 0) throw new InvalidInputError('a partition needs at least one leaf');
  const leafCount = members.length;
  const grouped = leafGroups.length > 1;
  const nodeCount = leafCount + (grouped ? leafGroups.length : 0) + 1;
  const { d } = vectors;
  const centres = new Float64Array(nodeCount * d);
  const sizes = new Float64Array(nodeCount);
  members.forEach((leaf, i) => {
    centres.set(centroidOf(vectors, leaf), i * d);
    sizes[i] = leaf.length;
  });
  const children: number[][] = Array.from({ length: nodeCount }, () => []);
  const root = nodeCount - 1;
  let leaf = 0;
  leafGroups.forEach((group, g) => {
    const node = grouped ? leafCount + g : root;
    for (let i = 0; i < group.length; i++) children[node].push(leaf++);
    if (grouped) children[root].push(node);
  });
  // Internal centres are the size-weighted means of their children (children come first in id order).
  for (let node = leafCount; node < nodeCount; node++) {
    for (const child of children[node]) {
      sizes[node] += sizes[child];
      for (let j = 0; j < d; j++) centres[node * d + j] += centres[child * d + j] * sizes[child];
    }
    if (sizes[node] > 0) for (let j = 0; j < d; j++) centres[node * d + j] /= sizes[node];
  }
  return { d, leafCount, centres: { n: nodeCount, d, data: centres }, tree: treeFromChildren(children, root, leafCount), members };
}

/**
 * A CentroidTree from child lists; nodes 0..leafCount-1 are leaf 0..leafCount-1 when
 * `leafCount` is given, otherwise every childless node is a leaf, numbered in node order.
 */
export function treeFromChildren(children: readonly (readonly number[])[], root: number, leafCount?: number): CentroidTree {
  const nodeCount = children.length;
  const childStart = new Uint32Array(nodeCount + 1);
  const leafOf = new Int32Array(nodeCount).fill(-1);
  const ids: number[] = [];
  let leaves = 0;
  for (let i = 0; i < nodeCount; i++) {
    childStart[i] = ids.length;
    for (const c of children[i]) ids.push(c);
    if (leafCount !== undefined ? i < leafCount : children[i].length === 0) leafOf[i] = leaves++;
  }
  childStart[nodeCount] = ids.length;
  return { childStart, childIds: Uint32Array.from(ids), leafOf, root };
}
