/**
 * Exact ranking on the client: the squared Euclidean distance from the query to every image of
 * the real leaves (decoded vectors, lib/sealed/quantise), the k smallest, nearest first.
 */
import { InvalidInputError } from '../core/errors';
import { SmallestK } from '../core/heaps';
import { prepareQuery, squaredDistanceToRow } from './quantise';
import type { SealedHit, SealedLeaf, SealedRouting } from './types';

/** Hits are addressed as position-in-list * SLOTS + slot inside the leaf. */
const SLOTS = 2 ** 24;
export const MAX_SEALED_K = 10_000;

export function rankSealedLeaves(
  routing: Pick<SealedRouting, 'd'>,
  leaves: readonly SealedLeaf[],
  query: ArrayLike<number>,
  k: number,
): { hits: SealedHit[]; vectorsScored: number } {
  if (!Number.isInteger(k) || k < 1 || k > MAX_SEALED_K) throw new InvalidInputError(`k must be an integer from 1 to ${MAX_SEALED_K}`);
  const { d } = routing;
  const best = new SmallestK(k);
  let vectorsScored = 0;
  leaves.forEach((leaf, position) => {
    const prepared = prepareQuery(query, d, leaf.rows);
    const base = position * SLOTS;
    for (let slot = 0; slot < leaf.ids.length; slot++) {
      const distance = squaredDistanceToRow(prepared, leaf.rows, slot, d);
      if (distance < best.threshold) best.offer(distance, base + slot);
    }
    vectorsScored += leaf.ids.length;
  });
  const hits = best.sorted().map(({ score, value }) => {
    const position = Math.floor(value / SLOTS);
    return { imageId: leaves[position].ids[value - position * SLOTS], distance: score };
  });
  return { hits, vectorsScored };
}
