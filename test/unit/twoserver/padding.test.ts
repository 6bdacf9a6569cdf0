import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { DEFAULT_BATCH_PADDING, drawDecoyRecords, NO_BATCH_PADDING, paddedRecordCount, resolveBatchPadding } from '../../../lib/twoserver/protocol/padding';

describe('stage-2 batch padding', () => {
  it('pads to a power of two of at least minValues values, capped at all records', () => {
    // she (1 vector per record): at least 16 records.
    expect([0, 1, 5, 16, 17, 33, 64, 65].map((real) => paddedRecordCount(real, 1000, 1, DEFAULT_BATCH_PADDING))).toEqual([
      16, 16, 16, 16, 32, 64, 64, 128,
    ]);
    expect(paddedRecordCount(600, 1000, 1, DEFAULT_BATCH_PADDING)).toBe(1000);
    expect(paddedRecordCount(3, 10, 1, DEFAULT_BATCH_PADDING)).toBe(10);
    // bfv, 16 vectors per record: one record is already 16 values.
    expect([0, 1, 2, 3, 5, 9].map((real) => paddedRecordCount(real, 1250, 16, DEFAULT_BATCH_PADDING))).toEqual([1, 1, 2, 4, 8, 16]);
    // No padding: only the lone decoy record when nothing matches.
    expect([0, 1, 3, 7].map((real) => paddedRecordCount(real, 100, 1, NO_BATCH_PADDING))).toEqual([1, 1, 3, 7]);
    // "No candidates" has the size of a one-record batch.
    for (const vpr of [1, 16, 128]) {
      expect(paddedRecordCount(0, 500, vpr, DEFAULT_BATCH_PADDING)).toBe(paddedRecordCount(1, 500, vpr, DEFAULT_BATCH_PADDING));
    }
  });

  it('validates the option', () => {
    expect(resolveBatchPadding(undefined)).toEqual(DEFAULT_BATCH_PADDING);
    expect(resolveBatchPadding(false)).toEqual(NO_BATCH_PADDING);
    expect(resolveBatchPadding({ minValues: 64 })).toEqual({ minValues: 64, powerOfTwo: true });
    expect(() => resolveBatchPadding({ minValues: 0 })).toThrow(InvalidInputError);
    expect(() => resolveBatchPadding({ powerOfTwo: 'yes' as unknown as boolean })).toThrow(InvalidInputError);
  });

  it('draws distinct decoys outside the taken records, uniformly', () => {
    const taken = [0, 3, 4, 9];
    const counts = new Array<number>(10).fill(0);
    const random = seededRandom(3);
    for (let i = 0; i < 3000; i++) {
      const decoys = drawDecoyRecords(taken, 2, 10, random);
      expect(decoys.length).toBe(2);
      expect(new Set(decoys).size).toBe(2);
      expect(decoys[0]).toBeLessThan(decoys[1]);
      for (const r of decoys) counts[r]++;
    }
    for (const r of taken) expect(counts[r]).toBe(0);
    // 6 free records, 2 drawn each time: each expected 1000 times.
    for (const r of [1, 2, 5, 6, 7, 8]) expect(Math.abs(counts[r] - 1000)).toBeLessThan(120);
    expect(drawDecoyRecords(taken, 6, 10, random)).toEqual([1, 2, 5, 6, 7, 8]);
    expect(drawDecoyRecords([], 0, 10, random)).toEqual([]);
    expect(() => drawDecoyRecords(taken, 7, 10, random)).toThrow(InvalidInputError);
  });
});
