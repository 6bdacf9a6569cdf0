/**
 * Exact k nearest neighbours by brute force (squared Euclidean): the ground truth that recall is
 * measured against. Four queries share each pass over the gallery, so every gallery coordinate
 * is loaded once per four distances.
 */
import { SmallestK } from '../core/heaps';
import { squaredDistanceAt, type VectorSet } from '../linalg/vectors';
import { DimensionMismatchError } from '../core/errors';
import { checkInteger } from './validation';

/**
 * For each query, the indices of its k nearest gallery vectors, nearest first (ties by lower
 * index). `exclude(q)` may name one gallery index to skip for query q (leave-one-out).
 */
export function exactNearest(gallery: VectorSet, queries: VectorSet, k: number, exclude?: (query: number) => number): Uint32Array[] {
  if (queries.d !== gallery.d) throw new DimensionMismatchError('queries', gallery.d, queries.d);
  checkInteger(k, 'k', 1);
  const { d } = gallery;
  const kk = Math.min(k, gallery.n);
  const out: Uint32Array[] = [];
  for (let q0 = 0; q0 < queries.n; q0 += 4) {
    const count = Math.min(4, queries.n - q0);
    const best = Array.from({ length: count }, () => new SmallestK(kk));
    const skip = Array.from({ length: count }, (_, i) => (exclude === undefined ? -1 : exclude(q0 + i)));
    const qd = queries.data;
    const gd = gallery.data;
    for (let i = 0; i < gallery.n; i++) {
      const off = i * d;
      for (let b = 0; b < count; b++) {
        if (i === skip[b]) continue;
        const dist = squaredDistanceAt(qd, (q0 + b) * d, gd, off, d);
        if (dist < best[b].threshold) best[b].offer(dist, i);
      }
    }
    for (const b of best) out.push(Uint32Array.from(b.sorted(), (e) => e.value));
  }
  return out;
}
