/**
 * The CS1 side of an iDistance radius query, from public metadata only (offsets, dmax,
 * partition position ranges, segments) and the query's squared distances to the reference
 * points (decrypted in stage 1).
 *
 * A template p of partition i with dist(q, p) <= tau satisfies, by the triangle inequality,
 *   dist(q, O_i) - tau <= dist(p, O_i) <= min(dmax_i, dist(q, O_i) + tau)   and  dist(p, O_i) >= 0
 * so partition i can hold a match only if dist(q, O_i) - tau <= dmax_i, and then its matches have
 * keys in [offset_i + max(0, dist - tau), offset_i + min(dmax_i, dist + tau)].
 *
 * Float safety. Squared distances are exact integers but the square roots, the offsets and the
 * keys are rounded doubles: each of the few operations above is off by at most half an ulp of
 * the magnitudes involved (all <= M = offset_i + dist + tau + dmax_i), i.e. a few times 2^-53 M
 * in total. Every bound is therefore widened by RANGE_SLACK * M with RANGE_SLACK = 1e-9, which
 * is millions of times that error (so a true match can never be dropped) and still negligible
 * (one extra candidate at most in practice). The widening only adds candidates; whether a
 * candidate matches is decided on its exact integer squared distance.
 */
import { InvalidInputError } from '../core/errors';
import { positionRange } from './segments/lookup';
import type { PositionRange, SegmentIndex } from './segments/types';
import type { IDistanceMetadata, PartitionSearch } from './types';

/** Relative widening of every float bound (see the header). */
export const RANGE_SLACK = 1e-9;

function assertSquaredDistances(meta: IDistanceMetadata, centreDist2: ArrayLike<number>): void {
  if (centreDist2.length !== meta.partitions) {
    throw new InvalidInputError(`iDistance query: expected ${meta.partitions} centre distances, got ${centreDist2.length}`);
  }
  for (let i = 0; i < centreDist2.length; i++) {
    const v = centreDist2[i];
    if (!Number.isFinite(v) || v < 0) throw new InvalidInputError(`iDistance query: centre distance ${i} must be a finite number >= 0`);
  }
}

function assertRadiusSquared(radiusSquared: number): void {
  if (typeof radiusSquared !== 'number' || !Number.isFinite(radiusSquared) || radiusSquared < 0) {
    throw new InvalidInputError('iDistance query: the squared radius must be a finite number >= 0');
  }
}

/**
 * Partitions that can hold a template within sqrt(radiusSquared) of the query, with the key
 * interval to search in each (widened by the float slack), in partition order.
 */
export function searchRanges(meta: IDistanceMetadata, centreDist2: ArrayLike<number>, radiusSquared: number): PartitionSearch[] {
  assertSquaredDistances(meta, centreDist2);
  assertRadiusSquared(radiusSquared);
  const tau = Math.sqrt(radiusSquared);
  const out: PartitionSearch[] = [];
  for (let i = 0; i < meta.partitions; i++) {
    const dist = Math.sqrt(centreDist2[i]);
    const dmax = meta.dmax[i];
    const offset = meta.offsets[i];
    const slack = RANGE_SLACK * (offset + dist + tau + dmax);
    if (dist - tau - slack > dmax) continue;
    out.push({
      partition: i,
      keyLo: offset + Math.max(0, dist - tau) - slack,
      keyHi: offset + Math.min(dmax, dist + tau) + slack,
    });
  }
  return out;
}

/**
 * Position ranges to read: each search's key interval through the segments, clipped to its
 * partition's positions (the slack may reach into a neighbour's keys). Sorted, disjoint,
 * empty ranges dropped.
 */
export function candidateRanges(meta: IDistanceMetadata, segments: SegmentIndex, searches: readonly PartitionSearch[]): PositionRange[] {
  if (segments.n !== meta.n) {
    throw new InvalidInputError(`iDistance query: the segments cover ${segments.n} keys but the index has ${meta.n} templates`);
  }
  const out: PositionRange[] = [];
  for (const search of searches) {
    const { start, end } = positionRange(segments, search.keyLo, search.keyHi);
    const lo = Math.max(start, meta.partitionStarts[search.partition]);
    const hi = Math.min(end, meta.partitionStarts[search.partition + 1]);
    if (hi > lo) out.push({ start: lo, end: hi });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Total number of positions in a list of disjoint ranges. */
export function rangeSize(ranges: readonly PositionRange[]): number {
  let total = 0;
  for (const r of ranges) total += r.end - r.start;
  return total;
}

/** Largest radius CS1 could ever need: every partition fully inside (dist + dmax for all). */
export function coveringRadius(meta: IDistanceMetadata, centreDist2: ArrayLike<number>): number {
  assertSquaredDistances(meta, centreDist2);
  let r = 0;
  for (let i = 0; i < meta.partitions; i++) r = Math.max(r, Math.sqrt(centreDist2[i]) + meta.dmax[i]);
  return r;
}
