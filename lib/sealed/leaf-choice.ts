/**
 * Which leaves a query asks for (client side). The real leaves are the R leaves whose centroids
 * lie nearest the query (a flat ranking of every centroid: the client holds them all in the
 * clear, so no descent or approximation is needed). The other L - R leaves are decoys drawn
 * uniformly at random, without replacement, from the leaves that are not real, fresh for every
 * query (WebCrypto randomness). The request lists all L in ascending order, so neither position
 * nor order tells real from decoy.
 */
import { InvalidInputError } from '../core/errors';
import { SmallestK } from '../core/heaps';
import { sampleDistinct } from '../crypto/web-random';
import type { LeafRequest, SealedRouting } from './types';

/** Checks a query vector against the index (dimension, finite values). */
export function checkQuery(routing: Pick<SealedRouting, 'd'>, query: ArrayLike<number>): void {
  if (query === null || typeof query !== 'object' || query.length !== routing.d) {
    throw new InvalidInputError(`the query must have ${routing.d} dimensions (got ${query?.length ?? 'none'})`);
  }
  for (let j = 0; j < query.length; j++) {
    if (!Number.isFinite(query[j])) throw new InvalidInputError(`query[${j}] is not a finite number`);
  }
}

/** The `count` leaves with the nearest centroids, nearest first (ties: lower leaf number). */
export function nearestLeaves(routing: Pick<SealedRouting, 'd' | 'centroids' | 'layout'>, query: ArrayLike<number>, count: number): number[] {
  const { d, centroids } = routing;
  const best = new SmallestK(Math.min(count, routing.layout.leafCount));
  for (let leaf = 0; leaf < routing.layout.leafCount; leaf++) {
    const o = leaf * d;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const diff = query[j] - centroids[o + j];
      s += diff * diff;
    }
    if (s < best.threshold) best.offer(s, leaf);
  }
  return best.sorted().map((entry) => entry.value);
}

/** The leaves to read at most or at least, for a request. */
export function checkRealLeaves(routing: Pick<SealedRouting, 'layout'>, realLeaves: number): void {
  const max = routing.layout.leavesPerQuery;
  if (!Number.isInteger(realLeaves) || realLeaves < 1 || realLeaves > max) {
    throw new InvalidInputError(`realLeaves must be an integer from 1 to ${max} (the index's leaves per query)`);
  }
}

/**
 * The L leaves one query asks for: its R nearest (R = options.realLeaves, default the index's)
 * hidden among L - R uniform decoys.
 */
export function chooseLeaves(routing: SealedRouting, query: ArrayLike<number>, options: { realLeaves?: number } = {}): LeafRequest {
  checkQuery(routing, query);
  const realLeaves = options.realLeaves ?? routing.realLeaves;
  checkRealLeaves(routing, realLeaves);
  const real = nearestLeaves(routing, query, realLeaves);
  const decoys = sampleDistinct(routing.layout.leafCount, routing.layout.leavesPerQuery - real.length, new Set(real));
  const leaves = [...real, ...decoys].sort((a, b) => a - b);
  return { leaves, real };
}
