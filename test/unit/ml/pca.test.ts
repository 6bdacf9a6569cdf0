import { describe, expect, it } from 'vitest';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { DimensionMismatchError, InvalidInputError, InvalidParametersError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { fitPca, transformPca } from '../../../lib/ml/pca';
import { explainedVarianceRatio, inverseTransformPca, transformVector } from '../../support/ml';
import type { PcaModel } from '../../../lib/ml/types';

/** Orthonormal rows (Gram-Schmidt on Gaussian rows). */
function randomOrthonormalRows(rows: number, d: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const out = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) out[r * d + j] = random.gaussian();
    for (let q = 0; q < r; q++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += out[r * d + j] * out[q * d + j];
      for (let j = 0; j < d; j++) out[r * d + j] -= dot * out[q * d + j];
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += out[r * d + j] ** 2;
    for (let j = 0; j < d; j++) out[r * d + j] /= Math.sqrt(norm);
  }
  return out;
}

/** x = offset + sum_r z_r sqrt(variances[r]) W_r + noise * N(0, I). */
function plantedSubspace(n: number, d: number, variances: number[], noise: number, seed: number) {
  const random = seededRandom(seed + 1);
  const W = randomOrthonormalRows(variances.length, d, seed);
  const offset = Float64Array.from({ length: d }, (_, j) => 5 + j);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) data[i * d + j] = offset[j] + noise * random.gaussian();
    variances.forEach((v, r) => {
      const z = random.gaussian() * Math.sqrt(v);
      for (let j = 0; j < d; j++) data[i * d + j] += z * W[r * d + j];
    });
  }
  return { vectors: { n, d, data } as VectorSet, W };
}

function gram(model: PcaModel): number[][] {
  const { components: c, inputDimension: d, basis } = model;
  return Array.from({ length: c }, (_, a) =>
    Array.from({ length: c }, (_, b) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += basis[a * d + j] * basis[b * d + j];
      return s;
    }),
  );
}

describe('fitPca', () => {
  const planted = plantedSubspace(3000, 20, [9, 4, 1], 0.01, 7);

  it('recovers a planted 3-dimensional subspace', () => {
    const model = fitPca(planted.vectors, 3);
    expect(model.inputDimension).toBe(20);
    expect(model.components).toBe(3);
    // Sample variances within ~10% of the planted ones (n = 3000: standard error ~2.6%).
    [9, 4, 1].forEach((v, r) => expect(Math.abs(model.explainedVariance[r] - v) / v).toBeLessThan(0.1));
    const ratio = explainedVarianceRatio(model);
    expect(ratio[0] + ratio[1] + ratio[2]).toBeGreaterThan(0.999);
    // Each planted direction lies in the fitted span: its projection keeps (almost) unit norm.
    for (let r = 0; r < 3; r++) {
      let kept = 0;
      for (let c = 0; c < 3; c++) {
        let dot = 0;
        for (let j = 0; j < 20; j++) dot += planted.W[r * 20 + j] * model.basis[c * 20 + j];
        kept += dot * dot;
      }
      expect(kept).toBeGreaterThan(0.9999);
    }
    // Reconstruction error is the isotropic noise left in the other 17 dimensions.
    const restored = inverseTransformPca(model, transformPca(model, planted.vectors));
    let error = 0;
    for (let i = 0; i < restored.data.length; i++) error += (restored.data[i] - planted.vectors.data[i]) ** 2;
    const perVector = error / planted.vectors.n;
    expect(perVector).toBeLessThan(17 * 0.01 ** 2 * 1.2);
    expect(perVector).toBeGreaterThan(17 * 0.01 ** 2 * 0.8);
  });

  it('has orthonormal components in decreasing order of variance', () => {
    const model = fitPca(planted.vectors, 6);
    const g = gram(model);
    for (let a = 0; a < 6; a++) for (let b = 0; b < 6; b++) expect(g[a][b]).toBeCloseTo(a === b ? 1 : 0, 10);
    for (let c = 1; c < 6; c++) expect(model.explainedVariance[c]).toBeLessThanOrEqual(model.explainedVariance[c - 1]);
  });

  it('transforms the fitting data to zero mean with the explained variances', () => {
    const model = fitPca(planted.vectors, 3);
    const y = transformPca(model, planted.vectors);
    expect(y.n).toBe(3000);
    expect(y.d).toBe(3);
    for (let c = 0; c < 3; c++) {
      let mean = 0;
      let square = 0;
      for (let i = 0; i < y.n; i++) {
        mean += y.data[i * 3 + c];
        square += y.data[i * 3 + c] ** 2;
      }
      mean /= y.n;
      expect(Math.abs(mean)).toBeLessThan(1e-9);
      expect(square / (y.n - 1)).toBeCloseTo(model.explainedVariance[c], 8);
    }
  });

  it('matches a direct covariance eigendecomposition (odd dimension, partial last block)', () => {
    const random = seededRandom(11);
    const n = 301;
    const d = 7;
    const data = Float64Array.from({ length: n * d }, (_, i) => random.gaussian() * (1 + (i % d)) + (i % 3));
    const model = fitPca({ n, d, data }, d);
    const mean = new Array<number>(d).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j] / n;
    const cov = Matrix.zeros(d, d);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < d; a++) {
        for (let b = 0; b < d; b++) {
          cov.set(a, b, cov.get(a, b) + ((data[i * d + a] - mean[a]) * (data[i * d + b] - mean[b])) / (n - 1));
        }
      }
    }
    let trace = 0;
    for (let a = 0; a < d; a++) trace += cov.get(a, a);
    expect(model.totalVariance).toBeCloseTo(trace, 9);
    const expected = new EigenvalueDecomposition(cov, { assumeSymmetric: true }).realEigenvalues.sort((x, y) => y - x);
    for (let c = 0; c < d; c++) expect(model.explainedVariance[c]).toBeCloseTo(expected[c], 9);
    // basis^T diag(variance) basis rebuilds the covariance.
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += model.basis[c * d + a] * model.explainedVariance[c] * model.basis[c * d + b];
        expect(s).toBeCloseTo(cov.get(a, b), 9);
      }
    }
  });

  it('is reproducible: sign convention, row order independence', () => {
    const a = fitPca(planted.vectors, 3);
    for (let c = 0; c < 3; c++) {
      let best = 0;
      for (let j = 1; j < 20; j++) if (Math.abs(a.basis[c * 20 + j]) > Math.abs(a.basis[c * 20 + best])) best = j;
      expect(a.basis[c * 20 + best]).toBeGreaterThan(0);
    }
    // Reversing the rows changes summation order but not the model.
    const { n, d, data } = planted.vectors;
    const reversed = new Float64Array(n * d);
    for (let i = 0; i < n; i++) reversed.set(data.subarray(i * d, (i + 1) * d), (n - 1 - i) * d);
    const b = fitPca({ n, d, data: reversed }, 3);
    for (let i = 0; i < a.basis.length; i++) expect(b.basis[i]).toBeCloseTo(a.basis[i], 9);
  });

  it('fits on a sample when sampleSize is set', () => {
    const model = fitPca(planted.vectors, 3, { sampleSize: 600, random: seededRandom(3) });
    for (let r = 0; r < 3; r++) {
      let kept = 0;
      for (let c = 0; c < 3; c++) {
        let dot = 0;
        for (let j = 0; j < 20; j++) dot += planted.W[r * 20 + j] * model.basis[c * 20 + j];
        kept += dot * dot;
      }
      expect(kept).toBeGreaterThan(0.999);
    }
  });

  it('projects a single vector like the batch transform', () => {
    const model = fitPca(planted.vectors, 4);
    const batch = transformPca(model, planted.vectors);
    for (const i of [0, 17, 2999]) {
      const single = transformVector(model, Array.from(planted.vectors.data.subarray(i * 20, (i + 1) * 20)));
      for (let c = 0; c < 4; c++) expect(single[c]).toBeCloseTo(batch.data[i * 4 + c], 12);
    }
  });

  it('rejects invalid input', () => {
    const small: VectorSet = { n: 3, d: 2, data: Float64Array.from([1, 2, 3, 4, 5, 7]) };
    expect(() => fitPca(small, 3)).toThrow(InvalidParametersError);
    expect(() => fitPca(small, 0)).toThrow(InvalidParametersError);
    expect(() => fitPca(small, 1.5)).toThrow(InvalidParametersError);
    expect(() => fitPca({ n: 1, d: 2, data: Float64Array.from([1, 2]) }, 1)).toThrow(InvalidInputError);
    expect(() => fitPca({ n: 3, d: 2, data: Float64Array.from([1, 2, NaN, 4, 5, 7]) }, 1)).toThrow(InvalidInputError);
    expect(() => fitPca({ n: 3, d: 2, data: Float64Array.from([1, 2, 3, 4, 5]) }, 1)).toThrow();
    expect(() => fitPca(small, 1, { sampleSize: 1 })).toThrow(InvalidParametersError);
    const model = fitPca(small, 1);
    expect(() => transformPca(model, { n: 1, d: 3, data: new Float64Array(3) })).toThrow(DimensionMismatchError);
    expect(() => transformVector(model, [1, 2, 3])).toThrow();
    expect(() => transformVector(model, [1, Infinity])).toThrow(InvalidInputError);
  });
});

describe('PCA with fewer vectors than dimensions (Gram-matrix path)', () => {
  it('matches the covariance eigendecomposition on the leading components', async () => {
    const { fitPca } = await import('../../../lib/ml/pca');
    const { seededRandom } = await import('../../../lib/core/random');
    const random = seededRandom(5);
    const n = 40;
    const d = 300;
    const data = new Float64Array(n * d);
    // Rank-6 signal plus small noise, with decreasing strengths so eigenvalues are distinct.
    const basis = Array.from({ length: 6 }, () => Float64Array.from({ length: d }, () => random.gaussian()));
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < 6; r++) {
        const w = random.gaussian() * (6 - r);
        for (let j = 0; j < d; j++) data[i * d + j] += w * basis[r][j];
      }
      for (let j = 0; j < d; j++) data[i * d + j] += 0.01 * random.gaussian();
    }
    const small = fitPca({ n, d, data }, 5);
    // Reference: 8 copies of the rows (320 > d, so the covariance path runs); the covariance
    // is the same up to the factor 8 (n - 1) / (8 n - 1).
    const copies = 8;
    const repeated = new Float64Array(copies * n * d);
    for (let k = 0; k < copies; k++) repeated.set(data, k * n * d);
    const reference = fitPca({ n: copies * n, d, data: repeated }, 5);
    const scale = (copies * (n - 1)) / (copies * n - 1);
    for (let c = 0; c < 5; c++) {
      expect(small.explainedVariance[c] * scale).toBeCloseTo(reference.explainedVariance[c], 6);
      let dot = 0;
      for (let j = 0; j < d; j++) dot += small.basis[c * d + j] * reference.basis[c * d + j];
      expect(Math.abs(dot)).toBeCloseTo(1, 8);
    }
  });
});
