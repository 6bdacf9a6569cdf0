/**
 * The search kernel: a row scores the same, bit for bit, whether a leaf is ranked (rankRows),
 * four scattered rows are scored together (atFour, the graph walk's exact re-scoring) or one row
 * alone (atAsRanked); and all of them agree with the plain dot product f'.t up to rounding.
 */
import { describe, expect, it } from 'vitest';
import { SmallestK } from '../../../lib/core/heaps';
import { seededRandom } from '../../../lib/core/random';
import { TrapdoorScorer } from '../../../lib/sei/index-tree/scoring';

describe('trapdoor scorer', () => {
  const m = 2 * 13 + 2;
  const rows = 11;
  const random = seededRandom(5);
  const data = Float64Array.from({ length: rows * m }, () => (random.next() - 0.5) * 1e3);
  const trapdoor = Float64Array.from({ length: m }, () => random.next() - 0.5);
  const scorer = TrapdoorScorer.of({ m }, trapdoor);

  it('scores a row the same in a leaf ranking, four at a time and alone', () => {
    const best = new SmallestK(rows);
    scorer.rankRows(data, rows, best, 0);
    const ranked = new Map(best.sorted().map((e) => [e.value, e.score]));
    const four = new Float64Array(4);
    for (const group of [[0, 5, 9, 2], [10, 1, 7, 3], [4, 4, 8, 6]]) {
      scorer.atFour(data, group[0] * m, group[1] * m, group[2] * m, group[3] * m, four);
      group.forEach((row, t) => {
        expect(four[t]).toBe(ranked.get(row));
        expect(scorer.atAsRanked(data, row * m)).toBe(ranked.get(row));
        let plain = 0;
        for (let j = 0; j < m; j++) plain += data[row * m + j] * trapdoor[j];
        expect(Math.abs(four[t] - scorer.at(data, row * m))).toBeLessThanOrEqual(1e-9 * Math.abs(plain) + 1e-9);
      });
    }
  });
});
