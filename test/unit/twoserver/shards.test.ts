/**
 * Shards of the records: the layout's position/record arithmetic and the shard plan (bounded
 * size, cut at partition starts where that costs little).
 */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import {
  maxTemplatesForBytes,
  planShards,
  positionsOfRecord,
  recordOfPosition,
  recordsOfRanges,
  shardLayout,
  shardOfPosition,
  shardOfRecord,
  templateCount,
  totalRecords,
} from '../../../lib/twoserver/shards';
import { shardRecords } from '../../support/twoserver';

describe('shard layout', () => {
  // 3 shards of 10, 3 and 8 templates, 4 templates per record: 3 + 1 + 2 records.
  const layout = shardLayout([10, 3, 8], 4);

  it('numbers positions and records shard by shard, each shard its own record space', () => {
    expect(templateCount(layout)).toBe(21);
    expect(totalRecords(layout)).toBe(6);
    expect([0, 1, 2].map((s) => shardRecords(layout, s))).toEqual([3, 1, 2]);
    // Position 9 is the 2nd template of shard 0's 3rd (padded) record; 10 starts shard 1.
    expect(recordOfPosition(layout, 9)).toBe(2);
    expect(recordOfPosition(layout, 10)).toBe(3);
    expect(recordOfPosition(layout, 12)).toBe(3);
    expect(recordOfPosition(layout, 13)).toBe(4);
    expect(recordOfPosition(layout, 20)).toBe(5);
    expect(shardOfPosition(layout, 12)).toBe(1);
    expect(shardOfRecord(layout, 5)).toEqual({ shard: 2, local: 1 });
    expect(positionsOfRecord(layout, 2)).toEqual({ start: 8, end: 10 });
    expect(positionsOfRecord(layout, 5)).toEqual({ start: 17, end: 21 });
    // Every position is in exactly the record that says it holds it.
    for (let p = 0; p < 21; p++) {
      const { start, end } = positionsOfRecord(layout, recordOfPosition(layout, p));
      expect(p >= start && p < end).toBe(true);
    }
  });

  it('lists the records of position ranges once, ascending', () => {
    expect(recordsOfRanges(layout, [{ start: 0, end: 1 }, { start: 3, end: 11 }, { start: 11, end: 14 }, { start: 20, end: 21 }])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(recordsOfRanges(layout, [{ start: 5, end: 5 }])).toEqual([]);
  });

  it('refuses empty shards and bad record sizes', () => {
    expect(() => shardLayout([], 4)).toThrow(InvalidInputError);
    expect(() => shardLayout([3, 0], 4)).toThrow(InvalidInputError);
    expect(() => shardLayout([3], 0)).toThrow(InvalidInputError);
  });
});

describe('shard plan', () => {
  it('never exceeds the bound, covers every position once, and ends each shard at a record end or a partition start', () => {
    const starts = [0, 30, 35, 90, 91, 200, 250];
    for (const maxTemplates of [1, 7, 16, 40, 64, 300]) {
      for (const vpr of [1, 4, 16]) {
        const counts = planShards(starts, { maxTemplates, vectorsPerRecord: vpr });
        expect(counts.reduce((a, b) => a + b, 0)).toBe(250);
        for (const c of counts) expect(c).toBeLessThanOrEqual(maxTemplates);
        // Each shard but the last ends at a whole record (when it can hold one) or a partition start.
        let end = 0;
        for (const c of counts.slice(0, -1)) {
          end += c;
          if (maxTemplates >= vpr) expect(c % vpr === 0 || starts.includes(end)).toBe(true);
        }
      }
    }
  });

  it('ends shards at partition starts when one lies in the last quarter', () => {
    // Partitions of 30, 30, 30, 30 templates; shards of up to 40: cut at 30, 60, 90 (not 40, 80).
    expect(planShards([0, 30, 60, 90, 120], { maxTemplates: 40, vectorsPerRecord: 1 })).toEqual([30, 30, 30, 30]);
    // A partition start too early in the shard (5 of 40) is not worth the smaller shard.
    expect(planShards([0, 5, 120], { maxTemplates: 40, vectorsPerRecord: 1 })).toEqual([40, 40, 40]);
  });

  it('sizes shards from a byte bound', () => {
    expect(maxTemplatesForBytes(1000, 100, 16)).toBe(160);
    expect(() => maxTemplatesForBytes(50, 100, 16)).toThrow(InvalidInputError);
    expect(() => planShards([0, 10], { maxTemplates: 0, vectorsPerRecord: 1 })).toThrow(InvalidInputError);
  });
});
