/**
 * Principal component analysis: projects feature vectors onto the leading eigenvectors of
 * their covariance. The covariance is accumulated with a blocked kernel (O(n d^2), the
 * dominant cost) and decomposed with ml-matrix's symmetric eigensolver (O(d^3)).
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { DimensionMismatchError } from '../core/errors';
import { secureRandom } from '../core/random';
import type { VectorSet } from '../linalg/vectors';
import { dotAt, selectRows } from '../linalg/vectors';
import { sampleIndices } from './sampling';
import type { PcaFitOptions, PcaModel } from './types';
import { assertVectorSet, checkInteger } from './validation';

/** Rows per block of the covariance kernel: a d x 128 block of doubles stays in L2 for d <= 1024. */
const COVARIANCE_BLOCK_ROWS = 128;

/**
 * Fits a PCA keeping `components` axes.
 * @throws InvalidInputError for fewer than 2 vectors or non-finite values;
 *         InvalidParametersError for components outside [1, d] or a bad sampleSize.
 */
export function fitPca(vectors: VectorSet, components: number, options: PcaFitOptions = {}): PcaModel {
  assertVectorSet(vectors, 'PCA input', 2);
  const d = vectors.d;
  checkInteger(components, 'PCA components', 1, d);
  let data = vectors;
  if (options.sampleSize !== undefined) {
    const m = checkInteger(options.sampleSize, 'PCA sampleSize', 2);
    if (m < vectors.n) data = selectRows(vectors, sampleIndices(vectors.n, m, options.random ?? secureRandom));
  }
  const mean = columnMeans(data);
  const fitted = (data.n <= d && gramEigenpairs(data, mean, components)) || covarianceEigenpairs(data, mean, components);
  const { values, vectors: axes, totalVariance } = fitted;
  for (let c = 0; c < components; c++) normaliseSign(axes, c * d, d);
  return { inputDimension: d, components, mean, basis: axes, explainedVariance: values, totalVariance };
}

/** Projects every vector: row i of the result is (x_i - mean) basis^T. */
export function transformPca(model: PcaModel, vectors: VectorSet): VectorSet {
  assertVectorSet(vectors, 'PCA transform input', 0);
  if (vectors.d !== model.inputDimension) {
    throw new DimensionMismatchError('PCA transform input', model.inputDimension, vectors.d);
  }
  const { n } = vectors;
  const d = model.inputDimension;
  const c = model.components;
  const out = new Float64Array(n * c);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    projectInto(model, vectors.data, i * d, centred, out, i * c);
  }
  return { n, d: c, data: out };
}

/** out[outOffset + k] = (x - mean) . basis_k, four components per pass so each centred entry is loaded once per four products. */
function projectInto(
  model: PcaModel,
  source: Float64Array,
  sourceOffset: number,
  centred: Float64Array,
  out: Float64Array,
  outOffset: number,
): void {
  const d = model.inputDimension;
  const c = model.components;
  const { mean, basis } = model;
  for (let j = 0; j < d; j++) centred[j] = source[sourceOffset + j] - mean[j];
  let k = 0;
  for (; k + 3 < c; k += 4) {
    const b0 = k * d;
    const b1 = b0 + d;
    const b2 = b1 + d;
    const b3 = b2 + d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < d; j++) {
      const x = centred[j];
      s0 += x * basis[b0 + j];
      s1 += x * basis[b1 + j];
      s2 += x * basis[b2 + j];
      s3 += x * basis[b3 + j];
    }
    out[outOffset + k] = s0;
    out[outOffset + k + 1] = s1;
    out[outOffset + k + 2] = s2;
    out[outOffset + k + 3] = s3;
  }
  for (; k < c; k++) out[outOffset + k] = dotAt(centred, 0, basis, k * d, d);
}

interface FittedAxes {
  values: Float64Array;
  vectors: Float64Array;
  totalVariance: number;
}

/** Eigenpairs of the d x d covariance: O(n d^2 + d^3). */
function covarianceEigenpairs(data: VectorSet, mean: Float64Array, components: number): FittedAxes {
  const d = data.d;
  const covariance = covarianceMatrix(data, mean);
  let totalVariance = 0;
  for (let i = 0; i < d; i++) totalVariance += covariance[i * d + i];
  return { ...leadingEigenpairs(covariance, d, components), totalVariance };
}

/**
 * With fewer vectors than dimensions (an owner's small gallery of 816-d CNN features), the
 * covariance has rank at most n - 1 and the same non-zero eigenvalues as the n x n Gram matrix
 * G = X X^T / (n - 1) of the centred data: if G u = lambda u, then v = X^T u / sqrt((n - 1) lambda)
 * is a unit eigenvector of the covariance. O(n^2 d + n^3) instead of O(d^3). Returns undefined
 * (use the covariance) when a requested component has a (near-)zero eigenvalue, whose
 * direction the Gram matrix cannot give.
 */
function gramEigenpairs(data: VectorSet, mean: Float64Array, components: number): FittedAxes | undefined {
  const { n, d } = data;
  if (components > n - 1) return undefined;
  const centred = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) centred[i * d + j] = data.data[i * d + j] - mean[j];
  }
  const gram = new Float64Array(n * n);
  const scale = 1 / (n - 1);
  let totalVariance = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = dotAt(centred, i * d, centred, j * d, d) * scale;
      gram[i * n + j] = v;
      gram[j * n + i] = v;
    }
    totalVariance += gram[i * n + i];
  }
  const { values, vectors: u } = leadingEigenpairs(gram, n, components);
  if (values[components - 1] <= 1e-12 * Math.max(values[0], Number.MIN_VALUE)) return undefined;
  const vectors = new Float64Array(components * d);
  for (let c = 0; c < components; c++) {
    const inv = 1 / Math.sqrt((n - 1) * values[c]);
    for (let i = 0; i < n; i++) {
      const weight = u[c * n + i] * inv;
      if (weight === 0) continue;
      for (let j = 0; j < d; j++) vectors[c * d + j] += weight * centred[i * d + j];
    }
    // Renormalise: rounding in the Gram eigenvectors must not leave the basis slightly off unit length.
    let norm = 0;
    for (let j = 0; j < d; j++) norm += vectors[c * d + j] ** 2;
    const unit = 1 / Math.sqrt(norm);
    for (let j = 0; j < d; j++) vectors[c * d + j] *= unit;
  }
  return { values, vectors, totalVariance };
}

function columnMeans(set: VectorSet): Float64Array {
  const { n, d, data } = set;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) mean[j] += data[o + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= n;
  return mean;
}

/**
 * Sample covariance (n - 1 denominator), d x d row-major. Rows are centred and transposed in
 * blocks of B into a (d x B) buffer so each covariance entry of the upper triangle is a
 * contiguous length-B dot product; a 4 x 4 register tile cuts the loads to half a load per
 * multiply-add. The dimension is padded to a multiple of 4 with zero rows so the tile needs no
 * edge case.
 */
function covarianceMatrix(set: VectorSet, mean: Float64Array): Float64Array {
  const { n, d, data } = set;
  const dp = (d + 3) & ~3;
  const B = COVARIANCE_BLOCK_ROWS;
  const block = new Float64Array(dp * B);
  const acc = new Float64Array(dp * dp);
  for (let start = 0; start < n; start += B) {
    const rows = Math.min(B, n - start);
    for (let r = 0; r < rows; r++) {
      const o = (start + r) * d;
      for (let j = 0; j < d; j++) block[j * B + r] = data[o + j] - mean[j];
    }
    accumulateUpperGram(block, B, rows, dp, acc);
  }
  // Upper triangle (j >= i) is authoritative; mirror it and drop the padding.
  const cov = new Float64Array(d * d);
  const scale = 1 / (n - 1);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = acc[i * dp + j] * scale;
      cov[i * d + j] = v;
      cov[j * d + i] = v;
    }
  }
  return cov;
}

/**
 * acc[i][j] += sum_r block[i][r] block[j][r] for the 4 x 4 tiles on or above the diagonal
 * (tiles on the diagonal also write a few lower entries, which the caller ignores).
 */
function accumulateUpperGram(block: Float64Array, B: number, rows: number, dp: number, acc: Float64Array): void {
  for (let i = 0; i < dp; i += 4) {
    const a0 = i * B;
    const a1 = a0 + B;
    const a2 = a1 + B;
    const a3 = a2 + B;
    for (let j = i; j < dp; j += 4) {
      const c0 = j * B;
      const c1 = c0 + B;
      const c2 = c1 + B;
      const c3 = c2 + B;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
      let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0;
      let s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let r = 0; r < rows; r++) {
        const x0 = block[a0 + r];
        const x1 = block[a1 + r];
        const x2 = block[a2 + r];
        const x3 = block[a3 + r];
        let y = block[c0 + r];
        s00 += x0 * y; s10 += x1 * y; s20 += x2 * y; s30 += x3 * y;
        y = block[c1 + r];
        s01 += x0 * y; s11 += x1 * y; s21 += x2 * y; s31 += x3 * y;
        y = block[c2 + r];
        s02 += x0 * y; s12 += x1 * y; s22 += x2 * y; s32 += x3 * y;
        y = block[c3 + r];
        s03 += x0 * y; s13 += x1 * y; s23 += x2 * y; s33 += x3 * y;
      }
      let o = i * dp + j;
      acc[o] += s00; acc[o + 1] += s01; acc[o + 2] += s02; acc[o + 3] += s03;
      o += dp;
      acc[o] += s10; acc[o + 1] += s11; acc[o + 2] += s12; acc[o + 3] += s13;
      o += dp;
      acc[o] += s20; acc[o + 1] += s21; acc[o + 2] += s22; acc[o + 3] += s23;
      o += dp;
      acc[o] += s30; acc[o + 1] += s31; acc[o + 2] += s32; acc[o + 3] += s33;
    }
  }
}

/**
 * The `count` largest eigenvalues (descending, clamped at 0: the covariance is positive
 * semi-definite, tiny negatives are rounding) and their unit eigenvectors as rows.
 */
function leadingEigenpairs(
  symmetric: Float64Array,
  d: number,
  count: number,
): { values: Float64Array; vectors: Float64Array } {
  const matrix = new Matrix(d, d);
  for (let i = 0; i < d; i++) matrix.setRow(i, symmetric.subarray(i * d, (i + 1) * d));
  const eig = new EigenvalueDecomposition(matrix, { assumeSymmetric: true });
  const eigenvalues = eig.realEigenvalues;
  const eigenvectors = eig.eigenvectorMatrix;
  // Do not rely on the solver's ordering: sort indices by decreasing eigenvalue.
  const order = Array.from({ length: d }, (_, i) => i).sort((a, b) => eigenvalues[b] - eigenvalues[a] || a - b);
  const values = new Float64Array(count);
  const vectors = new Float64Array(count * d);
  for (let c = 0; c < count; c++) {
    const col = order[c];
    values[c] = Math.max(0, eigenvalues[col]);
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const v = eigenvectors.get(j, col);
      vectors[c * d + j] = v;
      norm += v * v;
    }
    // The solver returns unit vectors; renormalise anyway so the stored basis is exactly orthonormal to rounding.
    const inv = 1 / Math.sqrt(norm);
    for (let j = 0; j < d; j++) vectors[c * d + j] *= inv;
  }
  return { values, vectors };
}

/** Eigenvectors are defined up to sign: make the largest-magnitude entry (first on ties) positive. */
function normaliseSign(vectors: Float64Array, offset: number, d: number): void {
  let best = 0;
  let bestAbs = -1;
  for (let j = 0; j < d; j++) {
    const a = Math.abs(vectors[offset + j]);
    if (a > bestAbs) {
      bestAbs = a;
      best = j;
    }
  }
  if (vectors[offset + best] < 0) {
    for (let j = 0; j < d; j++) vectors[offset + j] = -vectors[offset + j];
  }
}
