/**
 * Pearson's chi-square goodness-of-fit test for uniform counts, with the p-value of the
 * statistic from the Wilson-Hilferty normal approximation (accurate to a few percent for the
 * degrees of freedom used in tests, which is plenty for thresholds like 1e-6).
 */
export function chiSquareUniform(counts: ArrayLike<number>): { statistic: number; dof: number; pValue: number } {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  const expected = total / counts.length;
  let statistic = 0;
  for (let i = 0; i < counts.length; i++) statistic += (counts[i] - expected) ** 2 / expected;
  const dof = counts.length - 1;
  const z = (Math.cbrt(statistic / dof) - (1 - 2 / (9 * dof))) / Math.sqrt(2 / (9 * dof));
  return { statistic, dof, pValue: upperNormalTail(z) };
}

/** P(Z > z) for a standard normal Z (Abramowitz-Stegun 7.1.26 on erfc). */
function upperNormalTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}
