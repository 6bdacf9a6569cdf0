/**
 * The one place a segment's prediction is evaluated. The builder verifies every key with this
 * exact float expression and lookups use it too, so the verified bound is the bound lookups get.
 * With slope >= 0 it is monotone in x (IEEE rounding is monotone), which the range guarantee
 * of lookup.ts relies on.
 */
export function predictOnLine(firstKey: number, slope: number, intercept: number, x: number): number {
  return intercept + slope * (x - firstKey);
}

/**
 * Slack allowed on top of eps when verifying a fitted key: room for float rounding of the
 * fitting arithmetic, far below 1 position (the lookup's floor/ceil absorb anything < 1).
 */
export function fitTolerance(n: number): number {
  return 1e-6 * Math.max(1, n / 1e6);
}
