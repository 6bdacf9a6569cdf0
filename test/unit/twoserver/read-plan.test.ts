import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lib/core/random';
import { planReads } from '../../../lib/twoserver/protocol';

describe('planReads', () => {
  it('one vector per record: one read per run of adjacent ranges, slots in read order', () => {
    const plan = planReads(
      [
        { start: 2, end: 4 },
        { start: 4, end: 5 },
        { start: 9, end: 11 },
      ],
      1,
    );
    expect(plan.runs).toEqual([
      { firstRecord: 2, count: 3 },
      { firstRecord: 9, count: 2 },
    ]);
    expect(plan.positions).toEqual([2, 3, 4, 9, 10]);
    expect(plan.slots).toEqual([0, 1, 2, 3, 4]);
  });

  it('SIMD records: ranges sharing a record are read once; slots address the vector inside it', () => {
    // vpr 4: positions 5..6 and 7..9 share record 1 (positions 4..7); 17 is in record 4.
    const plan = planReads(
      [
        { start: 5, end: 7 },
        { start: 7, end: 10 },
        { start: 17, end: 18 },
      ],
      4,
    );
    expect(plan.runs).toEqual([
      { firstRecord: 1, count: 2 },
      { firstRecord: 4, count: 1 },
    ]);
    expect(plan.positions).toEqual([5, 6, 7, 8, 9, 17]);
    // Records read: [1, 2, 4] -> ordinals 0, 1, 2.
    expect(plan.slots).toEqual([1, 2, 3, 4, 5, 2 * 4 + 1]);
  });

  it('random ranges: every slot names the right record and position', () => {
    const random = seededRandom(3);
    for (let trial = 0; trial < 200; trial++) {
      const vpr = 1 + random.int(9);
      const ranges: { start: number; end: number }[] = [];
      let at = random.int(5);
      for (let r = 0; r < 1 + random.int(6); r++) {
        const start = at + random.int(12);
        const end = start + 1 + random.int(15);
        ranges.push({ start, end });
        at = end;
      }
      const plan = planReads(ranges, vpr);
      const recordsRead: number[] = [];
      for (const run of plan.runs) for (let i = 0; i < run.count; i++) recordsRead.push(run.firstRecord + i);
      expect(new Set(recordsRead).size).toBe(recordsRead.length);
      expect(new Set(plan.slots).size).toBe(plan.slots.length);
      plan.positions.forEach((p, i) => {
        const slot = plan.slots[i];
        expect(recordsRead[Math.floor(slot / vpr)]).toBe(Math.floor(p / vpr));
        expect(slot % vpr).toBe(p % vpr);
      });
      expect(plan.positions.length).toBe(ranges.reduce((s, r) => s + r.end - r.start, 0));
    }
  });
});
