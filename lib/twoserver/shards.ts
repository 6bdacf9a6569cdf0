/**
 * Shards: the encrypted templates of an index are stored as several objects of bounded size,
 * each a contiguous run of storage positions (key order, so a run of partitions), so that
 * - no object exceeds what one upload or one worker should handle (a million d = 512 bfv
 *   templates are about 12 GB; S3 takes 5 GB per PUT),
 * - a query's candidates, which lie in few partitions, touch few shards, and CS1 evaluates the
 *   shards it needs in parallel (one worker per shard),
 * - an update re-encrypts only the shard it changes (copy-on-write versions share the rest).
 *
 * Each shard is its own record space: shard s holds positions [start_s, start_s + count_s) in
 * ceil(count_s / vpr) records, its last record zero-padded. A position's record is therefore
 * (s, floor((p - start_s) / vpr)); records are also numbered globally, shard by shard
 * (recordBase_s + local), for decoy draws and read plans. With one shard this is exactly the
 * unsharded layout.
 */
import { InvalidInputError } from '../core/errors';
import type { PositionRange } from './segments/types';

/** Positions and records of every shard (derived from the template counts). */
export interface ShardLayout {
  /** Shards S. */
  readonly count: number;
  /** Templates per record. */
  readonly vectorsPerRecord: number;
  /** S + 1 entries: shard s holds positions [positionStarts[s], positionStarts[s + 1]). */
  readonly positionStarts: Uint32Array;
  /** S + 1 entries: shard s holds global records [recordBases[s], recordBases[s + 1]). */
  readonly recordBases: Uint32Array;
}

/** A global record: its shard and its index inside the shard. */
export interface ShardRecord {
  readonly shard: number;
  readonly local: number;
}

export function shardLayout(templateCounts: ArrayLike<number>, vectorsPerRecord: number): ShardLayout {
  if (!Number.isInteger(vectorsPerRecord) || vectorsPerRecord < 1) throw new InvalidInputError('shards: vectorsPerRecord must be a positive integer');
  const count = templateCounts.length;
  if (count < 1) throw new InvalidInputError('shards: at least one shard is required');
  const positionStarts = new Uint32Array(count + 1);
  const recordBases = new Uint32Array(count + 1);
  for (let s = 0; s < count; s++) {
    const c = templateCounts[s];
    if (!Number.isInteger(c) || c < 1) throw new InvalidInputError(`shards: shard ${s} must hold at least one template`);
    positionStarts[s + 1] = positionStarts[s] + c;
    recordBases[s + 1] = recordBases[s] + Math.ceil(c / vectorsPerRecord);
  }
  return { count, vectorsPerRecord, positionStarts, recordBases };
}

export function templateCount(layout: ShardLayout): number {
  return layout.positionStarts[layout.count];
}

export function totalRecords(layout: ShardLayout): number {
  return layout.recordBases[layout.count];
}

/** Largest s with starts[s] <= value (starts ascending, starts[0] = 0). */
function upperIndex(starts: Uint32Array, count: number, value: number): number {
  let lo = 0;
  let hi = count;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid] <= value) lo = mid;
    else hi = mid;
  }
  return lo;
}

export function shardOfPosition(layout: ShardLayout, position: number): number {
  return upperIndex(layout.positionStarts, layout.count, position);
}

/** The global record holding a storage position. */
export function recordOfPosition(layout: ShardLayout, position: number): number {
  const s = shardOfPosition(layout, position);
  return layout.recordBases[s] + Math.floor((position - layout.positionStarts[s]) / layout.vectorsPerRecord);
}

export function shardOfRecord(layout: ShardLayout, record: number): ShardRecord {
  const shard = upperIndex(layout.recordBases, layout.count, record);
  return { shard, local: record - layout.recordBases[shard] };
}

/** The positions a global record holds (its padding excluded). */
export function positionsOfRecord(layout: ShardLayout, record: number): PositionRange {
  const { shard, local } = shardOfRecord(layout, record);
  const start = layout.positionStarts[shard] + local * layout.vectorsPerRecord;
  return { start, end: Math.min(layout.positionStarts[shard + 1], start + layout.vectorsPerRecord) };
}

/** Distinct global records (ascending) holding the positions of sorted, disjoint ranges. */
export function recordsOfRanges(layout: ShardLayout, ranges: readonly PositionRange[]): number[] {
  const out: number[] = [];
  for (const { start, end } of ranges) {
    if (end <= start) continue;
    const first = recordOfPosition(layout, start);
    const last = recordOfPosition(layout, end - 1);
    for (let r = out.length > 0 ? Math.max(first, out[out.length - 1] + 1) : first; r <= last; r++) out.push(r);
  }
  return out;
}

export interface ShardPlanOptions {
  /** Largest number of templates in one shard (>= 1). */
  readonly maxTemplates: number;
  readonly vectorsPerRecord: number;
}

/**
 * Template counts of the shards of n positions whose partitions start at `partitionStarts`
 * (K + 1 entries, last = n): shards are filled in key order up to maxTemplates (rounded down to
 * whole records), and a shard that would end inside a partition ends at that partition's start
 * instead when the start lies in the shard's last quarter, so most shards are whole partition
 * ranges while none exceeds the bound (a partition larger than a shard spans several).
 */
export function planShards(partitionStarts: ArrayLike<number>, options: ShardPlanOptions): number[] {
  const { vectorsPerRecord: vpr } = options;
  if (!Number.isSafeInteger(options.maxTemplates) || options.maxTemplates < 1) {
    throw new InvalidInputError(`shards: maxTemplates = ${options.maxTemplates} must be a positive integer`);
  }
  if (!Number.isInteger(vpr) || vpr < 1) throw new InvalidInputError('shards: vectorsPerRecord must be a positive integer');
  const n = partitionStarts[partitionStarts.length - 1];
  // Whole records per shard (except the last), unless a shard is smaller than one record.
  const capacity = options.maxTemplates >= vpr ? options.maxTemplates - (options.maxTemplates % vpr) : options.maxTemplates;
  const counts: number[] = [];
  let start = 0;
  let p = 0; // first partition starting after `start`
  while (start < n) {
    let end = Math.min(n, start + capacity);
    if (end < n) {
      while (p < partitionStarts.length && partitionStarts[p] <= start) p++;
      // The last partition start inside (start, end], if any.
      let q = p;
      let cut = -1;
      while (q < partitionStarts.length && partitionStarts[q] <= end) cut = partitionStarts[q++];
      if (cut > start && cut < end && cut - start >= 0.75 * capacity) end = cut;
    }
    counts.push(end - start);
    start = end;
  }
  return counts;
}

/** Shard size in templates that keeps each shard's records under maxBytes. */
export function maxTemplatesForBytes(maxBytes: number, recordBytes: number, vectorsPerRecord: number): number {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < recordBytes) {
    throw new InvalidInputError(`shards: the shard size bound (${maxBytes} bytes) must hold at least one record of ${recordBytes} bytes`);
  }
  return Math.floor(maxBytes / recordBytes) * vectorsPerRecord;
}
