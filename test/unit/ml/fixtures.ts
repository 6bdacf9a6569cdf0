/** Seeded synthetic data and clustering-agreement measures shared by the ML tests. */
import { seededRandom } from '../../../lib/core/random';
import type { VectorSet } from '../../../lib/linalg/vectors';

export interface Blobs {
  vectors: VectorSet;
  /** Planted cluster of each vector. */
  labels: Uint32Array;
  /** Planted centres, clusters x d. */
  centres: VectorSet;
}

/**
 * `clusters` Gaussian blobs of `perCluster` points in dimension d: centres drawn N(0, separation^2)
 * per coordinate, points centre + N(0, spread^2). Points are interleaved (point i is in cluster
 * i mod clusters) so prefixes and samples contain every cluster.
 */
export function gaussianBlobs(
  clusters: number,
  perCluster: number,
  d: number,
  seed: number,
  separation = 10,
  spread = 0.5,
): Blobs {
  const random = seededRandom(seed);
  const centres = new Float64Array(clusters * d);
  for (let i = 0; i < centres.length; i++) centres[i] = random.gaussian() * separation;
  const n = clusters * perCluster;
  const data = new Float64Array(n * d);
  const labels = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    labels[i] = c;
    for (let j = 0; j < d; j++) data[i * d + j] = centres[c * d + j] + random.gaussian() * spread;
  }
  return { vectors: { n, d, data }, labels, centres: { n: clusters, d, data: centres } };
}

/** Adjusted Rand index of two labelings (1 = identical partitions up to renaming, ~0 = chance). */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const table = new Map<string, number>();
  const rows = new Map<number, number>();
  const cols = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = `${a[i]},${b[i]}`;
    table.set(key, (table.get(key) ?? 0) + 1);
    rows.set(a[i], (rows.get(a[i]) ?? 0) + 1);
    cols.set(b[i], (cols.get(b[i]) ?? 0) + 1);
  }
  const pairs = (x: number) => (x * (x - 1)) / 2;
  let index = 0;
  for (const v of table.values()) index += pairs(v);
  let rowSum = 0;
  for (const v of rows.values()) rowSum += pairs(v);
  let colSum = 0;
  for (const v of cols.values()) colSum += pairs(v);
  const expected = (rowSum * colSum) / pairs(n);
  const max = (rowSum + colSum) / 2;
  if (max === expected) return 1;
  return (index - expected) / (max - expected);
}

/** Number of distinct values. */
export function distinctCount(values: ArrayLike<number>): number {
  return new Set(Array.from(values)).size;
}

/** Members per cluster. */
export function clusterSizes(assignments: ArrayLike<number>, k: number): number[] {
  const sizes = new Array<number>(k).fill(0);
  for (let i = 0; i < assignments.length; i++) sizes[assignments[i]]++;
  return sizes;
}
