/**
 * Two-server helpers for the tests: the public part of iDistance metadata, the templates in key
 * order, one segment as an object, both segmentations' counts, and a shard's record count.
 */
import { InvalidInputError } from '../../lib/core/errors';
import type { VectorSet } from '../../lib/linalg/vectors';
import { buildSegmentIndex, segmentCount } from '../../lib/twoserver/segments/build';
import type { SegmentationMethod, SegmentIndex } from '../../lib/twoserver/segments/types';
import type { ShardLayout } from '../../lib/twoserver/shards';
import type { IDistanceIndex, IDistanceMetadata } from '../../lib/twoserver/types';

/** Only the public fields (drops the provider's keys, order and reference points). */
export function publicMetadata(meta: IDistanceMetadata): IDistanceMetadata {
  return {
    partitions: meta.partitions,
    n: meta.n,
    offsets: meta.offsets,
    dmax: meta.dmax,
    partitionStarts: meta.partitionStarts,
  };
}

/** The templates in storage (key) order: row `position` is template order[position]. */
export function templatesInKeyOrder(templates: VectorSet, index: IDistanceIndex): VectorSet {
  const { d } = templates;
  const data = new Float64Array(index.n * d);
  for (let pos = 0; pos < index.n; pos++) {
    const i = index.order[pos];
    data.set(templates.data.subarray(i * d, (i + 1) * d), pos * d);
  }
  return { n: index.n, d, data };
}

/** One segment of a SegmentIndex as an object (its columns at one index). */
export interface Segment {
  readonly firstKey: number;
  readonly slope: number;
  readonly intercept: number;
  readonly start: number;
  readonly maxRun: number;
}

/** Segment s as an object (lookups read the columns directly). */
export function segmentAt(index: SegmentIndex, s: number): Segment {
  if (!Number.isInteger(s) || s < 0 || s >= index.firstKeys.length) {
    throw new InvalidInputError(`segment ${s} is outside [0, ${index.firstKeys.length})`);
  }
  return {
    firstKey: index.firstKeys[s],
    slope: index.slopes[s],
    intercept: index.intercepts[s],
    start: index.starts[s],
    maxRun: index.maxRuns[s],
  };
}

/** Segment counts of the same keys under both segmentations. */
export function segmentCounts(keys: ArrayLike<number>, eps: number): Record<SegmentationMethod, number> {
  return {
    fiting: segmentCount(buildSegmentIndex(keys, { eps, method: 'fiting' })),
    optimal: segmentCount(buildSegmentIndex(keys, { eps, method: 'optimal' })),
  };
}

/** Records in shard s. */
export function shardRecords(layout: ShardLayout, shard: number): number {
  return layout.recordBases[shard + 1] - layout.recordBases[shard];
}
