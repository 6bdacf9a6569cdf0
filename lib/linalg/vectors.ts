/**
 * Dense row-major collections of vectors on one Float64Array. Hot loops (distances, scores,
 * K-means assignment) work on offsets into one buffer instead of arrays of arrays: it keeps
 * memory at 8 bytes per coordinate and lets V8 keep the loops monomorphic.
 */
import { DimensionMismatchError } from '../core/errors';

export interface VectorSet {
  /** Number of vectors. */
  readonly n: number;
  /** Dimension of each vector. */
  readonly d: number;
  /** n * d values, vector i at [i*d, (i+1)*d). */
  readonly data: Float64Array;
}

/** View (no copy) of vector i. */
export function row(set: VectorSet, i: number): Float64Array {
  return set.data.subarray(i * set.d, (i + 1) * set.d);
}

/** Copies the listed rows into a new set. */
export function selectRows(set: VectorSet, indices: ArrayLike<number>): VectorSet {
  const out = new Float64Array(indices.length * set.d);
  for (let k = 0; k < indices.length; k++) {
    out.set(set.data.subarray(indices[k] * set.d, (indices[k] + 1) * set.d), k * set.d);
  }
  return { n: indices.length, d: set.d, data: out };
}

/** Dot product of a[aOff..aOff+d) and b[bOff..bOff+d). Unrolled by 4: the search hot loop. */
export function dotAt(a: Float64Array, aOff: number, b: Float64Array, bOff: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < d; j += 4) {
    s0 += a[aOff + j] * b[bOff + j];
    s1 += a[aOff + j + 1] * b[bOff + j + 1];
    s2 += a[aOff + j + 2] * b[bOff + j + 2];
    s3 += a[aOff + j + 3] * b[bOff + j + 3];
  }
  for (; j < d; j++) s0 += a[aOff + j] * b[bOff + j];
  return s0 + s1 + s2 + s3;
}

/** Squared Euclidean distance of a[aOff..) and b[bOff..) over d coordinates. */
export function squaredDistanceAt(a: Float64Array, aOff: number, b: Float64Array, bOff: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let j = 0;
  for (; j + 1 < d; j += 2) {
    const x = a[aOff + j] - b[bOff + j];
    const y = a[aOff + j + 1] - b[bOff + j + 1];
    s0 += x * x;
    s1 += y * y;
  }
  if (j < d) {
    const x = a[aOff + j] - b[bOff + j];
    s0 += x * x;
  }
  return s0 + s1;
}

/** Throws a DimensionMismatchError unless `values.length === d`. */
export function assertDimension(values: ArrayLike<number>, d: number, what: string): void {
  if (values.length !== d) throw new DimensionMismatchError(what, d, values.length);
}
