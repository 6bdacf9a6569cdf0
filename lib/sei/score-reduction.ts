/**
 * Scoring with d+1 of the m = 2d+2 coordinates of an encrypted vector. Every index vector of one
 * owner key is affine in (f, ||f||^2) (index-vector.ts: f' = c0 + x H with x = (f, ||f||^2) and
 * H the (d+1) x m matrix of rows -2 Minv[2 pi[k]] and Minv[2 pi[d]]), so all encrypted vectors
 * lie in one affine subspace of dimension d+1. With J = the first d+1 coordinates (when H is
 * invertible there) and R = the other d+1, the coordinates R follow from J:
 *   f'_R = a + f'_J B,   B = H_J^-1 H_R,   a = c0_R - c0_J B,
 * and for any trapdoor t
 *   f'.t = f'_J.t_J + f'_R.t_R = a.t_R + f'_J.(t_J + B t_R).
 * A search reduces each trapdoor once to w = t_J + B t_R and the offset a.t_R, then scores every
 * vector with a dot product of d+1 instead of 2d+2 entries: half the work, the same score up to
 * rounding, so the ranking stays the exact encrypted ranking.
 *
 * What it reveals: (a, B) describe that affine subspace, which anyone holding d+2 encrypted
 * vectors in general position computes from the ciphertexts alone, and which every index of more
 * than d+1 images already shows. It is not a plaintext-ciphertext pair (a is the value of f'_R
 * where f'_J = 0, a point no image need encrypt to) and says nothing about M, r, S or pi beyond
 * the subspace.
 *
 * Only the owner computes it (from the secret). The kernel reads a contiguous prefix of every
 * stored vector, so the first d+1 coordinates must carry the subspace well: for about 1 key in
 * 250 drawn at random they do not, so key generation reorders the coordinates of the encrypted
 * space (rows of M, columns of M^-1: an equivalent key, the same scores) by column pivoting
 * ({@link arrangeForScoreReduction}). Keys made elsewhere (imported, the paper's example) may
 * have no reduction; their searches score all m coordinates.
 */
import { DimensionMismatchError, InvalidInputError } from '../core/errors';
import { dotAt } from '../linalg/vectors';
import { invertMatrix, multiplyMatrices } from '../linalg/matrix';
import type { OwnerSecret, Trapdoor } from './types';
import { encryptedDimension } from './types';

/** |B| entries beyond this mean H_J is badly conditioned: rounding in w would grow by as much. */
const MAX_COUPLING = 1e3;
/** Largest relative deviation of a vector from the subspace that still counts as on it. */
export const SUBSPACE_TOLERANCE = 1e-7;

export interface ScoreReduction {
  readonly d: number;
  readonly m: number;
  /** a: coordinates d+1..m-1 of the vector of the subspace whose first d+1 coordinates are 0. */
  readonly intercept: Float64Array;
  /** B: (d+1) x (d+1), row-major: f'[d+1..m) = a + f'[0..d] B. */
  readonly coupling: Float64Array;
}

/** A trapdoor reduced for one index: score = offset + sum_{i <= d} f'[i] w[i]. */
export interface ReducedTrapdoor {
  readonly weights: Float64Array;
  readonly offset: number;
}

/** H (d+1 rows of m) and c0 of the affine map x -> f' (see the module comment). */
function affineMap(owner: OwnerSecret): { H: Float64Array; c0: Float64Array } {
  const { d, Minv, pi } = owner;
  const m = encryptedDimension(d);
  const H = new Float64Array((d + 1) * m);
  const c0 = new Float64Array(m);
  for (let k = 0; k <= d; k++) {
    const row = 2 * pi[k] * m;
    const factor = k < d ? -2 : 1;
    for (let j = 0; j < m; j++) H[k * m + j] = factor * Minv[row + j];
    const rowS = (2 * k + 1) * m;
    for (let j = 0; j < m; j++) c0[j] += owner.S[k] * Minv[rowS + j] + owner.r[k] * Minv[row + j];
  }
  return { H, c0 };
}

/** Greedy column pivoting (Gram-Schmidt) of H: d+1 well-conditioned columns, ascending. */
function pivotedColumns(H: Float64Array, rows: number, m: number): number[] {
  const columns = Array.from({ length: m }, (_, j) => Float64Array.from({ length: rows }, (_, i) => H[i * m + j]));
  const chosen = new Uint8Array(m);
  for (let step = 0; step < rows; step++) {
    let best = -1;
    let bestNorm = -1;
    for (let j = 0; j < m; j++) {
      if (chosen[j] === 1) continue;
      const norm = dotAt(columns[j], 0, columns[j], 0, rows);
      if (norm > bestNorm) {
        bestNorm = norm;
        best = j;
      }
    }
    chosen[best] = 1;
    const q = columns[best].map((v) => v / Math.sqrt(bestNorm));
    for (let j = 0; j < m; j++) {
      if (chosen[j] === 1) continue;
      const projection = dotAt(q, 0, columns[j], 0, rows);
      for (let i = 0; i < rows; i++) columns[j][i] -= projection * q[i];
    }
  }
  return Array.from({ length: m }, (_, j) => j).filter((j) => chosen[j] === 1);
}

/**
 * The same key with the coordinates of the encrypted space reordered so that the first d+1 carry
 * a well-conditioned reduction (unchanged when they already do). Moving row j of M to position
 * i and column j of M^-1 likewise permutes every index vector and every trapdoor the same way,
 * so all scores stay equal; r, S, pi, theta and X keep their meaning.
 */
export function arrangeForScoreReduction(owner: OwnerSecret): OwnerSecret {
  const { d } = owner;
  const m = encryptedDimension(d);
  const { H, c0 } = affineMap(owner);
  if (reductionOn(H, c0, d) !== undefined) return owner;
  const first = pivotedColumns(H, d + 1, m);
  const kept = new Set(first);
  const order = [...first, ...Array.from({ length: m }, (_, j) => j).filter((j) => !kept.has(j))];
  const M = new Float64Array(m * m);
  const Minv = new Float64Array(m * m);
  order.forEach((from, to) => {
    M.set(owner.M.subarray(from * m, (from + 1) * m), to * m);
    for (let i = 0; i < m; i++) Minv[i * m + to] = owner.Minv[i * m + from];
  });
  return { ...owner, M, Minv };
}

function reductionOn(H: Float64Array, c0: Float64Array, d: number): ScoreReduction | undefined {
  const m = encryptedDimension(d);
  const D = d + 1;
  const HJ = new Float64Array(D * D);
  const HR = new Float64Array(D * D);
  for (let i = 0; i < D; i++) {
    HJ.set(H.subarray(i * m, i * m + D), i * D);
    HR.set(H.subarray(i * m + D, (i + 1) * m), i * D);
  }
  const inverse = invertMatrix(HJ, D);
  if (inverse === undefined) return undefined;
  const coupling = multiplyMatrices(inverse, HR, D, D, D);
  if (!coupling.every((v) => Math.abs(v) <= MAX_COUPLING)) return undefined;
  const intercept = new Float64Array(D);
  for (let j = 0; j < D; j++) {
    let v = c0[D + j];
    for (let i = 0; i < D; i++) v -= c0[i] * coupling[i * D + j];
    intercept[j] = v;
  }
  return { d, m, intercept, coupling };
}

/** The reduction of an owner key (owner side: it needs the secret), or undefined for a key badly conditioned on 0..d. */
export function scoreReduction(owner: OwnerSecret): ScoreReduction | undefined {
  const { H, c0 } = affineMap(owner);
  return reductionOn(H, c0, owner.d);
}

/** Checks the shape and values of a reduction read from storage (InvalidInputError). */
export function checkScoreReduction(reduction: ScoreReduction): void {
  const { d, m, intercept, coupling } = reduction;
  const D = d + 1;
  if (m !== encryptedDimension(d)) throw new DimensionMismatchError('score reduction', encryptedDimension(d), m);
  if (intercept.length !== D) throw new DimensionMismatchError('score reduction intercept', D, intercept.length);
  if (coupling.length !== D * D) throw new DimensionMismatchError('score reduction coupling', D * D, coupling.length);
  for (const v of intercept) if (!Number.isFinite(v)) throw new InvalidInputError('score reduction intercept is not finite');
  for (const v of coupling) if (!Number.isFinite(v)) throw new InvalidInputError('score reduction coupling is not finite');
}

/**
 * w = t[0..d] + B t[d+1..m) and offset a.t[d+1..m) for one trapdoor (cost (d+1)^2, paid once per
 * search: as much as scoring d+1 vectors). Four rows of B at a time share every load of t (about
 * 1.4x faster than one row at a time in V8).
 */
export function reduceTrapdoor(reduction: ScoreReduction, trapdoor: Trapdoor): ReducedTrapdoor {
  const { coupling, intercept } = reduction;
  const D = reduction.d + 1;
  const weights = new Float64Array(D);
  let i = 0;
  for (; i + 3 < D; i += 4) {
    const r0 = i * D;
    const r1 = r0 + D;
    const r2 = r1 + D;
    const r3 = r2 + D;
    let w0 = trapdoor[i];
    let w1 = trapdoor[i + 1];
    let w2 = trapdoor[i + 2];
    let w3 = trapdoor[i + 3];
    for (let j = 0; j < D; j++) {
      const t = trapdoor[D + j];
      w0 += coupling[r0 + j] * t;
      w1 += coupling[r1 + j] * t;
      w2 += coupling[r2 + j] * t;
      w3 += coupling[r3 + j] * t;
    }
    weights[i] = w0;
    weights[i + 1] = w1;
    weights[i + 2] = w2;
    weights[i + 3] = w3;
  }
  for (; i < D; i++) weights[i] = trapdoor[i] + dotAt(coupling, i * D, trapdoor, D, D);
  return { weights, offset: dotAt(intercept, 0, trapdoor, D, D) };
}

/**
 * How far the vector at data[offset..offset+m) lies from the subspace: max |f'_R - a - f'_J B|
 * relative to max(1, largest |entry|). Encryptions under the index's key give about 1e-14.
 */
export function subspaceDeviation(reduction: ScoreReduction, data: Float64Array, offset = 0): number {
  const { coupling, intercept, m } = reduction;
  const D = reduction.d + 1;
  let scale = 1;
  for (let j = 0; j < m; j++) scale = Math.max(scale, Math.abs(data[offset + j]));
  let deviation = 0;
  for (let r = 0; r < D; r++) {
    let predicted = intercept[r];
    for (let i = 0; i < D; i++) predicted += data[offset + i] * coupling[i * D + r];
    deviation = Math.max(deviation, Math.abs(data[offset + D + r] - predicted));
  }
  return deviation / scale;
}
