/**
 * The search kernel: scores of encrypted vectors (rows of m = 2d+2 entries) against one trapdoor.
 * With the index's score reduction (score-reduction.ts) a score is offset + the dot product of a
 * row's first d+1 entries with the reduced trapdoor; without it, the dot product of all m
 * entries with the trapdoor (the paper's f'.t). Either way one loop serves both: `width` entries
 * of every row starting at the row's first entry.
 *
 * Leaves are scored four rows at a time: each trapdoor entry is loaded once for four products,
 * and four independent sums keep the floating-point units busy (about 1.5x faster than one row
 * at a time in V8). Per row the arithmetic is that of a plain dot product, in the same order.
 */
import type { SmallestK } from '../../core/heaps';
import { dotAt } from '../../linalg/vectors';
import { reduceTrapdoor, type ScoreReduction } from '../score-reduction';
import type { Trapdoor } from '../types';

export class TrapdoorScorer {
  /** Entries of each row that take part (d+1 reduced, m otherwise). */
  readonly width: number;

  private constructor(
    /** Distance between rows (m). */
    readonly stride: number,
    readonly weights: Float64Array,
    readonly offset: number,
  ) {
    this.width = weights.length;
  }

  /** The scorer of one trapdoor for an index of dimension m, reduced when the index has a reduction. */
  static of(index: { readonly m: number; readonly reduction?: ScoreReduction }, trapdoor: Trapdoor): TrapdoorScorer {
    if (index.reduction === undefined) return new TrapdoorScorer(index.m, trapdoor, 0);
    const { weights, offset } = reduceTrapdoor(index.reduction, trapdoor);
    return new TrapdoorScorer(index.m, weights, offset);
  }

  /** Score of the row starting at data[start]. Smaller = nearer. */
  at(data: Float64Array, start: number): number {
    return this.offset + dotAt(data, start, this.weights, 0, this.width);
  }

  /**
   * Scores of the rows starting at data[a], data[b], data[c] and data[d] into out[0..3], with
   * the arithmetic of rankRows (so a row scores the same either way); the four rows' loads are
   * independent, which overlaps their cache misses when the rows are scattered.
   */
  atFour(data: Float64Array, a: number, b: number, c: number, d: number, out: Float64Array): void {
    const { weights, width, offset } = this;
    let sa = 0;
    let sb = 0;
    let sc = 0;
    let sd = 0;
    for (let j = 0; j < width; j++) {
      const w = weights[j];
      sa += data[a + j] * w;
      sb += data[b + j] * w;
      sc += data[c + j] * w;
      sd += data[d + j] * w;
    }
    out[0] = sa + offset;
    out[1] = sb + offset;
    out[2] = sc + offset;
    out[3] = sd + offset;
  }

  /** Score of one row with the arithmetic of rankRows. */
  atAsRanked(data: Float64Array, start: number): number {
    const { weights, width, offset } = this;
    let s = 0;
    for (let j = 0; j < width; j++) s += data[start + j] * weights[j];
    return s + offset;
  }

  /**
   * Offers the scores of rows 0..count-1 of `data` to `best`, each with value base + row.
   */
  rankRows(data: Float64Array, count: number, best: SmallestK, base: number): void {
    const { stride, weights, width, offset } = this;
    let row = 0;
    for (; row + 3 < count; row += 4) {
      const o0 = row * stride;
      const o1 = o0 + stride;
      const o2 = o1 + stride;
      const o3 = o2 + stride;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < width; j++) {
        const w = weights[j];
        s0 += data[o0 + j] * w;
        s1 += data[o1 + j] * w;
        s2 += data[o2 + j] * w;
        s3 += data[o3 + j] * w;
      }
      s0 += offset;
      s1 += offset;
      s2 += offset;
      s3 += offset;
      if (s0 < best.threshold) best.offer(s0, base + row);
      if (s1 < best.threshold) best.offer(s1, base + row + 1);
      if (s2 < best.threshold) best.offer(s2, base + row + 2);
      if (s3 < best.threshold) best.offer(s3, base + row + 3);
    }
    for (; row < count; row++) {
      let s = 0;
      const o = row * stride;
      for (let j = 0; j < width; j++) s += data[o + j] * weights[j];
      s += offset;
      if (s < best.threshold) best.offer(s, base + row);
    }
  }
}
