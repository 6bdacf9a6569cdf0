/**
 * Small dense-matrix helpers (row-major Float64Array) for key material: well-conditioned random
 * matrices and inversion checked for accuracy. The schemes' encryption is only exact up to float
 * rounding, so every matrix a key holds must be well conditioned and its inverse verified.
 */
import { Matrix, QrDecomposition, inverse } from 'ml-matrix';
import type { RandomSource } from '../core/random';
import { secureRandom } from '../core/random';

/**
 * Largest accepted condition estimate ||M||_F * ||M^-1||_F (an upper bound on the 2-norm
 * condition number). Ranking is exact only up to float rounding, and rounding errors grow with
 * the condition number: beyond 1e8 near-ties could be reordered, so such matrices are refused.
 */
export const MAX_CONDITION_ESTIMATE = 1e8;

/** Largest accepted |entry| of M M^-1 - I when an inverse is computed or read from a file. */
export const INVERSE_RESIDUAL_TOLERANCE = 1e-8;

/** Haar-random orthogonal n x n matrix: QR of a Gaussian matrix with R's diagonal made positive. */
export function randomOrthogonalMatrix(n: number, random: RandomSource = secureRandom): Float64Array {
  const gaussian = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) gaussian.set(i, j, random.gaussian());
  const qr = new QrDecomposition(gaussian);
  const Q = qr.orthogonalMatrix;
  const R = qr.upperTriangularMatrix;
  const out = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    // Without this sign fix the distribution of Q is not uniform (Mezzadri 2007).
    const sign = R.get(j, j) < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) out[i * n + j] = Q.get(i, j) * sign;
  }
  return out;
}

/**
 * Random n x n matrix with singular values log-uniform in [0.5, 2] (condition number <= 4) and
 * its inverse. Used for M's shape and for users' W.
 */
export function randomWellConditionedMatrix(
  n: number,
  random: RandomSource = secureRandom,
): { matrix: Float64Array; inverse: Float64Array } {
  const q1 = randomOrthogonalMatrix(n, random);
  const q2 = randomOrthogonalMatrix(n, random);
  const a = new Float64Array(n * n);
  const b = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const sigma = Math.pow(2, 2 * random.next() - 1);
    for (let i = 0; i < n; i++) {
      a[i * n + j] = q1[i * n + j] * sigma;
      b[i * n + j] = q2[j * n + i] / sigma;
    }
  }
  return {
    matrix: multiplyMatrices(a, q2, n, n, n),
    inverse: multiplyMatrices(b, transposeMatrix(q1, n, n), n, n, n),
  };
}

/** (rows x inner) * (inner x cols), row-major. i-k-j order so the inner loop is contiguous. */
export function multiplyMatrices(
  a: Float64Array,
  b: Float64Array,
  rows: number,
  inner: number,
  cols: number,
): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let k = 0; k < inner; k++) {
      const x = a[i * inner + k];
      if (x === 0) continue;
      const bo = k * cols;
      for (let j = 0; j < cols; j++) out[o + j] += x * b[bo + j];
    }
  }
  return out;
}

export function transposeMatrix(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

/**
 * Inverse of a square n x n matrix, or undefined if it is singular, too ill-conditioned
 * ({@link MAX_CONDITION_ESTIMATE}) or the computed inverse is inaccurate.
 */
export function invertMatrix(a: Float64Array, n: number): Float64Array | undefined {
  let inv: Float64Array;
  try {
    const result = inverse(toMatrix(a, n, n));
    inv = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) inv[i * n + j] = result.get(i, j);
  } catch {
    // ml-matrix throws on an exactly singular LU factorization.
    return undefined;
  }
  return inverseProblem(a, inv, n) === undefined ? inv : undefined;
}

/**
 * Why `inv` is not an acceptable inverse of `a` (non-finite, condition estimate too large,
 * residual too large), or undefined if it is. Never mentions values.
 */
export function inverseProblem(a: Float64Array, inv: Float64Array, n: number): string | undefined {
  let normA = 0;
  let normInv = 0;
  for (let i = 0; i < n * n; i++) {
    if (!Number.isFinite(inv[i])) return 'is not finite';
    normA += a[i] * a[i];
    normInv += inv[i] * inv[i];
  }
  const conditionEstimate = Math.sqrt(normA) * Math.sqrt(normInv);
  if (!(conditionEstimate <= MAX_CONDITION_ESTIMATE)) {
    return `belongs to a matrix that is singular or too ill-conditioned (condition estimate above ${MAX_CONDITION_ESTIMATE})`;
  }
  const product = multiplyMatrices(a, inv, n, n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const residual = Math.abs(product[i * n + j] - (i === j ? 1 : 0));
      if (!(residual <= INVERSE_RESIDUAL_TOLERANCE)) return 'is not the inverse of the matrix (M * Minv differs from I)';
    }
  }
  return undefined;
}

function toMatrix(a: Float64Array, rows: number, cols: number): Matrix {
  const out = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out.set(i, j, a[i * cols + j]);
  return out;
}

