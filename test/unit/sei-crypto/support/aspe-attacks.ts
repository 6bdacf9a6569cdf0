/**
 * Attacks on SEI's ASPE-style encryption (docs/threat-model.md, "SEI"), as plain numerical
 * linear algebra on what an attacker holds. Test support only: the product never runs this.
 *
 * (a) Ciphertext only. f' = c0 + f G + ||f||^2 h: every encrypted vector lies in a (d+1)-dim
 *     affine subspace of R^(2d+2), and in it on a paraboloid (the ||f||^2 coordinate is a
 *     quadratic function of the f coordinates). PCA finds the subspace; a quadric y^T A y +
 *     b.y + c = 0 through the points has (d+2)(d+3)/2 coefficients, so (d+2)(d+3)/2 - 1
 *     ciphertexts in general position fix it up to scale. Its quadratic part is A = -lambda P^T P
 *     where f = P y + p0, so (y_i - y_j)^T A (y_i - y_j) = -lambda ||f_i - f_j||^2: every pairwise
 *     distance up to one scale, i.e. the vectors up to a similarity transform. A trapdoor's scores
 *     against all ciphertexts are alpha ||f_i - q||^2 + beta, which then locates the query in the
 *     same frame by linear least squares.
 * (b) One user key (Abar, U, W) plus ciphertexts. With A = Abar W:
 *     f' A = theta (r' - 2 f) and f' . U = theta ||f||^2 + kappa for constants theta, r', kappa.
 *     Eliminating f gives u_i = ||a_i||^2 / (4 theta) - (r'/2) . a_i + C, linear in d + 2
 *     unknowns: least squares over the ciphertexts yields theta and r', then every f_i exactly.
 *     A trapdoor is t = gamma (A q + U): least squares in (gamma q, gamma) yields q.
 * (c) Known plaintext. The same affine form fixes the whole encryption map from d + 2 pairs
 *     (f_i, f'_i) in general position: the rows (1, f_i, ||f_i||^2) give a square linear system
 *     for (c0, G, h). Every other ciphertext is then decrypted by least squares.
 */
import { EigenvalueDecomposition, Matrix, pseudoInverse, solve } from 'ml-matrix';
import type { VectorSet } from '../../../../lib/linalg/vectors';
import { vectorSet } from '../../../support/vectors';

/** Coordinates of ciphertexts in their affine span (PCA, whitened so monomials stay O(1)). */
export interface AffineFrame {
  readonly dimension: number;
  /** n x dimension. */
  readonly points: VectorSet;
  /** Maps another ciphertext of the same key into the frame. */
  project(ciphertext: ArrayLike<number>): Float64Array;
  /** Eigenvalues of the ciphertexts' covariance, largest first (the span's dimension shows as a gap). */
  readonly spectrum: number[];
}

/** The affine span of the rows of `ciphertexts`, taken as the top `dimension` principal axes. */
export function affineFrame(ciphertexts: VectorSet, dimension: number): AffineFrame {
  const { n, d: m, data } = ciphertexts;
  const mean = new Float64Array(m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) mean[j] += data[i * m + j] / n;
  const covariance = new Matrix(m, m);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < m; a++) {
      const xa = data[i * m + a] - mean[a];
      for (let b = a; b < m; b++) covariance.set(a, b, covariance.get(a, b) + xa * (data[i * m + b] - mean[b]));
    }
  }
  for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) covariance.set(a, b, covariance.get(b, a));
  const eigen = new EigenvalueDecomposition(covariance, { assumeSymmetric: true });
  const order = eigen.realEigenvalues.map((value, index) => ({ value, index })).sort((x, y) => y.value - x.value);
  const axes = order.slice(0, dimension).map(({ value, index }) => {
    const axis = eigen.eigenvectorMatrix.getColumn(index);
    const scale = 1 / Math.sqrt(value / n);
    return axis.map((entry) => entry * scale);
  });
  const project = (ciphertext: ArrayLike<number>): Float64Array => {
    const y = new Float64Array(dimension);
    for (let k = 0; k < dimension; k++) {
      let s = 0;
      for (let j = 0; j < m; j++) s += (ciphertext[j] - mean[j]) * axes[k][j];
      y[k] = s;
    }
    return y;
  };
  const points = vectorSet(n, dimension);
  for (let i = 0; i < n; i++) points.data.set(project(data.subarray(i * m, (i + 1) * m)), i * dimension);
  return { dimension, points, project, spectrum: order.map(({ value }) => value) };
}

/** Number of coefficients of a quadric in p variables: p(p+1)/2 + p + 1. */
export function quadricCoefficients(p: number): number {
  return (p * (p + 1)) / 2 + p + 1;
}

export interface Quadric {
  /** p x p symmetric quadratic part (row-major). */
  readonly A: Float64Array;
  readonly p: number;
  /** max |q(y_i)| / max |monomial| over the points: how exactly the points lie on it. */
  readonly residual: number;
}

/**
 * The quadric through the points (rows of `points`), determined up to scale: the null vector of
 * the n x K design matrix of monomials (y_a y_b for a <= b, y_a, 1), by Householder QR and
 * inverse iteration on R (as accurate as an SVD, far cheaper than one in JavaScript).
 */
export function fitQuadric(points: VectorSet): Quadric {
  const { n, d: p, data } = points;
  const K = quadricCoefficients(p);
  // Column-major design matrix.
  const D = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    const y = data.subarray(i * p, (i + 1) * p);
    let column = 0;
    for (let a = 0; a < p; a++) for (let b = a; b < p; b++) D[column++ * n + i] = y[a] * y[b];
    for (let a = 0; a < p; a++) D[column++ * n + i] = y[a];
    D[column * n + i] = 1;
  }
  const R = householderR(D, n, K);
  const coefficients = nullVector(R, K);
  const A = new Float64Array(p * p);
  let column = 0;
  for (let a = 0; a < p; a++) {
    for (let b = a; b < p; b++) {
      const c = coefficients[column++];
      if (a === b) A[a * p + a] = c;
      else A[a * p + b] = A[b * p + a] = c / 2;
    }
  }
  // Residual of the fitted quadric at the points, relative to the size of its terms.
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < n; i++) {
    let q = 0;
    for (let k = 0; k < K; k++) {
      const term = coefficients[k] * D[k * n + i];
      q += term;
      scale = Math.max(scale, Math.abs(term));
    }
    worst = Math.max(worst, Math.abs(q));
  }
  return { A, p, residual: worst / scale };
}

/** R (K x K, row-major, upper triangular) of a Householder QR of the column-major n x K matrix D (overwritten). */
function householderR(D: Float64Array, n: number, K: number): Float64Array {
  const v = new Float64Array(n);
  for (let j = 0; j < Math.min(K, n); j++) {
    const col = j * n;
    let norm = 0;
    for (let i = j; i < n; i++) norm += D[col + i] * D[col + i];
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = D[col + j] > 0 ? -norm : norm;
    for (let i = j; i < n; i++) v[i] = D[col + i];
    v[j] -= alpha;
    let vv = 0;
    for (let i = j; i < n; i++) vv += v[i] * v[i];
    for (let k = j + 1; k < K; k++) {
      const other = k * n;
      let s = 0;
      for (let i = j; i < n; i++) s += v[i] * D[other + i];
      const f = (2 * s) / vv;
      for (let i = j; i < n; i++) D[other + i] -= f * v[i];
    }
    D[col + j] = alpha;
    for (let i = j + 1; i < n; i++) D[col + i] = 0;
  }
  const R = new Float64Array(K * K);
  for (let i = 0; i < Math.min(K, n); i++) for (let k = i; k < K; k++) R[i * K + k] = D[k * n + i];
  return R;
}

/** The unit vector x minimising ||R x|| (R upper triangular): inverse iteration on R^T R. */
function nullVector(R: Float64Array, K: number): Float64Array {
  let scaleR = 0;
  for (let i = 0; i < K; i++) scaleR = Math.max(scaleR, Math.abs(R[i * K + i]));
  // A zero pivot (fewer points than coefficients) is clamped: the null directions still
  // dominate by a factor of 1e13 per step, and nothing overflows.
  const floor = scaleR * 1e-13;
  const diagonal = (i: number) => (Math.abs(R[i * K + i]) < floor ? floor : R[i * K + i]);
  let x = new Float64Array(K).map((_, i) => 1 + ((i * 7919) % 13) / 13);
  for (let iteration = 0; iteration < 4; iteration++) {
    // Solve R^T z = x (forward), then R x' = z (backward).
    const z = new Float64Array(K);
    for (let i = 0; i < K; i++) {
      let s = x[i];
      for (let k = 0; k < i; k++) s -= R[k * K + i] * z[k];
      z[i] = s / diagonal(i);
    }
    const zMax = z.reduce((max, value) => Math.max(max, Math.abs(value)), 0);
    for (let i = 0; i < K; i++) z[i] /= zMax;
    const next = new Float64Array(K);
    for (let i = K - 1; i >= 0; i--) {
      let s = z[i];
      for (let k = i + 1; k < K; k++) s -= R[i * K + k] * next[k];
      next[i] = s / diagonal(i);
    }
    let norm = 0;
    for (let i = 0; i < K; i++) norm += next[i] * next[i];
    norm = Math.sqrt(norm);
    x = next.map((value) => value / norm);
  }
  return x;
}

/**
 * The vectors up to a similarity transform, from the quadric's quadratic part: A's d non-zero
 * eigenvalues share one sign (A = -lambda P^T P); F = Y V sqrt(|e|) has the pairwise distances
 * of the plaintexts times sqrt(lambda).
 */
export function configurationOf(frame: AffineFrame, quadric: Quadric, d: number): { vectors: VectorSet; place: (y: Float64Array) => Float64Array } {
  const { p, A } = quadric;
  const eigen = new EigenvalueDecomposition(new Matrix(Array.from({ length: p }, (_, i) => Array.from(A.subarray(i * p, (i + 1) * p)))), { assumeSymmetric: true });
  const order = eigen.realEigenvalues.map((value, index) => ({ value, index })).sort((x, y) => Math.abs(y.value) - Math.abs(x.value));
  const kept = order.slice(0, d);
  const axes = kept.map(({ value, index }) => eigen.eigenvectorMatrix.getColumn(index).map((entry) => entry * Math.sqrt(Math.abs(value))));
  const place = (y: Float64Array): Float64Array => Float64Array.from(axes, (axis) => axis.reduce((s, entry, k) => s + entry * y[k], 0));
  const { n } = frame.points;
  const vectors = vectorSet(n, d);
  for (let i = 0; i < n; i++) vectors.data.set(place(frame.points.data.subarray(i * p, (i + 1) * p)), i * d);
  return { vectors, place };
}

/**
 * A query's position in the recovered frame from its scores against every ciphertext:
 * score_i = alpha ||F_i - q||^2 + beta = alpha ||F_i||^2 - 2 alpha F_i . q + const, linear in
 * (alpha, alpha q, const).
 */
export function locateQuery(configuration: VectorSet, scores: ArrayLike<number>): Float64Array {
  const { n, d, data } = configuration;
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const f = data.subarray(i * d, (i + 1) * d);
    rows.push([f.reduce((s, x) => s + x * x, 0), ...Array.from(f, (x) => -2 * x), 1]);
  }
  const solution = solve(new Matrix(rows), Matrix.columnVector(Array.from(scores))).to1DArray();
  const alpha = solution[0];
  return Float64Array.from(solution.slice(1, d + 1), (value) => value / alpha);
}

/**
 * Attack (b): every plaintext from the ciphertexts and one user's key material, no known
 * plaintext. `A` is the user's Abar W ((2d+2) x d, row-major), `U` their U.
 */
export function decryptWithUserKey(ciphertexts: VectorSet, A: Float64Array, U: Float64Array, d: number): VectorSet {
  const { n, d: m, data } = ciphertexts;
  const a = new Float64Array(n * d);
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const c = data[i * m + j];
      u[i] += c * U[j];
      for (let k = 0; k < d; k++) a[i * d + k] += c * A[j * d + k];
    }
  }
  // u_i = alpha ||a_i||^2 + beta . a_i + C, alpha = 1 / (4 theta), beta = -r'/2.
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const ai = a.subarray(i * d, (i + 1) * d);
    rows.push([ai.reduce((s, x) => s + x * x, 0), ...ai, 1]);
  }
  const solution = solve(new Matrix(rows), Matrix.columnVector(Array.from(u))).to1DArray();
  const alpha = solution[0];
  const beta = solution.slice(1, d + 1);
  // f = r'/2 - a / (2 theta) = -beta - 2 alpha a.
  const out = vectorSet(n, d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) out.data[i * d + k] = -beta[k] - 2 * alpha * a[i * d + k];
  return out;
}

/** Attack (b) on a trapdoor: t = gamma (A q + U), solved for (gamma q, gamma). */
export function queryOfTrapdoor(trapdoor: ArrayLike<number>, A: Float64Array, U: Float64Array, d: number): Float64Array {
  const m = trapdoor.length;
  const rows = Array.from({ length: m }, (_, j) => [...Array.from(A.subarray(j * d, (j + 1) * d)), U[j]]);
  const solution = solve(new Matrix(rows), Matrix.columnVector(Array.from(trapdoor))).to1DArray();
  const gamma = solution[d];
  return Float64Array.from(solution.slice(0, d), (value) => value / gamma);
}

/**
 * Attack (c): the encryption map f -> f' = c0 + f G + ||f||^2 h from d + 2 known pairs
 * (`plaintexts` n x d, `ciphertexts` n x m, n = d + 2), and a decryptor for any other
 * ciphertext of the same key: least squares for (f, ||f||^2) in c - c0 = (f, s) [G; h].
 */
export function knownPlaintextDecryptor(plaintexts: VectorSet, ciphertexts: VectorSet): (ciphertext: ArrayLike<number>) => Float64Array {
  const { n, d } = plaintexts;
  const m = ciphertexts.d;
  if (n !== d + 2 || ciphertexts.n !== n) throw new Error(`the known-plaintext attack takes exactly d + 2 = ${d + 2} pairs`);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const f = plaintexts.data.subarray(i * d, (i + 1) * d);
    rows.push([1, ...f, f.reduce((s, x) => s + x * x, 0)]);
  }
  const targets = new Matrix(Array.from({ length: n }, (_, i) => Array.from(ciphertexts.data.subarray(i * m, (i + 1) * m))));
  // X: (d + 2) x m, row 0 = c0, rows 1..d = G, row d + 1 = h.
  const map = solve(new Matrix(rows), targets);
  const c0 = map.getRow(0);
  // Least squares for every ciphertext at once: the pseudo-inverse of the m x (d + 1) map.
  const inverse = pseudoInverse(map.subMatrix(1, d + 1, 0, m - 1).transpose());
  return (ciphertext) => {
    const rhs = Matrix.columnVector(Array.from(ciphertext, (value, j) => value - c0[j]));
    return Float64Array.from(inverse.mmul(rhs).to1DArray().slice(0, d));
  };
}
