/**
 * FITing-tree segmentation (Galakatos et al., SIGMOD 2019, Algorithm 1 "ShrinkingCone"), as the
 * paper uses it. The segment's line is anchored at its first point (x0, y0); the cone holds the
 * slopes that still keep every point seen so far within eps. A point whose own slope from the
 * anchor falls outside the cone starts a new segment; otherwise the cone shrinks to the slopes
 * that also keep this point within eps. Greedy: one pass, O(1) per point, but the anchor is
 * fixed, so it can need more segments than the optimum (see optimal-hull.ts).
 */
import type { LineFit } from './types';

export function fitShrinkingCone(xs: Float64Array, ys: Float64Array, from: number, eps: number): LineFit {
  const x0 = xs[from];
  const y0 = ys[from];
  // Keys and positions are increasing, so slope 0 is a valid lower edge (keeps lines monotone).
  let low = 0;
  let high = Number.POSITIVE_INFINITY;
  let previousDx = 0;
  let i = from + 1;
  for (; i < xs.length; i++) {
    const dx = xs[i] - x0;
    // Distinct keys can only collide after subtraction in pathological float ranges: cut there.
    if (!(dx > previousDx)) break;
    const dy = ys[i] - y0;
    const pointSlope = dy / dx;
    if (pointSlope < low || pointSlope > high) break;
    low = Math.max(low, (dy - eps) / dx);
    high = Math.min(high, (dy + eps) / dx);
    previousDx = dx;
  }
  // One point: any slope fits; 0 keeps the prediction flat up to the next segment.
  const slope = i === from + 1 ? 0 : (low + high) / 2;
  return { end: i, slope, intercept: y0 };
}
