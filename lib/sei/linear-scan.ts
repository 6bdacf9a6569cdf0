/**
 * Exact ranking of SEI-encrypted vectors by a linear scan: every f'.t, k smallest. It is the
 * reference the tree's recall is measured against ("exact ranking on the same encrypted data")
 * and what a search costs without the index tree.
 */
import { SmallestK } from '../core/heaps';
import { dotAt, type VectorSet } from '../linalg/vectors';

export interface RankedPosition {
  /** Row of the scanned set. */
  readonly position: number;
  readonly score: number;
}

/** k rows with the smallest scores against the trapdoor (ties broken by lower row). */
export function linearScan(encrypted: VectorSet, trapdoor: Float64Array, k: number): RankedPosition[] {
  const best = new SmallestK(Math.min(k, encrypted.n));
  const { d: m, data } = encrypted;
  for (let i = 0; i < encrypted.n; i++) {
    const score = dotAt(data, i * m, trapdoor, 0, m);
    if (score < best.threshold) best.offer(score, i);
  }
  return best.sorted().map(({ score, value }) => ({ position: value, score }));
}
