/**
 * From candidate storage positions to what the HE layer needs: whole-record byte-range reads
 * (adjacent or shared records merged into one read, since with SIMD records several positions
 * share a record) and each position's SLOT in the request
 *   slot = (ordinal of its record among all records read, in order) * vectorsPerRecord
 *          + (position mod vectorsPerRecord).
 */
import type { PositionRange } from '../segments/types';

export interface RecordRun {
  /** First record index of the run and how many consecutive records it covers. */
  readonly firstRecord: number;
  readonly count: number;
}

export interface ReadPlan {
  /** Byte-range reads, in storage order. */
  readonly runs: RecordRun[];
  /** Candidate storage positions, ascending. */
  readonly positions: number[];
  /** slots[i] is the request slot of positions[i]. */
  readonly slots: number[];
}

/** Plans the reads of sorted, disjoint position ranges. */
export function planReads(ranges: readonly PositionRange[], vectorsPerRecord: number): ReadPlan {
  const runs: { firstRecord: number; count: number }[] = [];
  for (const { start, end } of ranges) {
    if (end <= start) continue;
    const first = Math.floor(start / vectorsPerRecord);
    const last = Math.floor((end - 1) / vectorsPerRecord);
    const previous = runs[runs.length - 1];
    if (previous !== undefined && first <= previous.firstRecord + previous.count) {
      previous.count = Math.max(previous.count, last - previous.firstRecord + 1);
    } else {
      runs.push({ firstRecord: first, count: last - first + 1 });
    }
  }
  const positions: number[] = [];
  const slots: number[] = [];
  let run = 0;
  let base = 0; // records read before runs[run]
  for (const { start, end } of ranges) {
    for (let p = start; p < end; p++) {
      const record = Math.floor(p / vectorsPerRecord);
      while (record >= runs[run].firstRecord + runs[run].count) {
        base += runs[run].count;
        run++;
      }
      positions.push(p);
      slots.push((base + record - runs[run].firstRecord) * vectorsPerRecord + (p % vectorsPerRecord));
    }
  }
  return { runs, positions, slots };
}
