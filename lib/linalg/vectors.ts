/**
 * Dense row-major collections of vectors on one Float64Array. Hot loops (distances, scores,
 * K-means assignment) work on offsets into one buffer instead of arrays of arrays: it keeps
 * memory at 8 bytes per coordinate and lets V8 keep the loops monomorphic.
 */
import { DimensionMismatchError, InvalidInputError } from '../core/errors';

export interface VectorSet {
  /** Number of vectors. */
  readonly n: number;
  /** Dimension of each vector. */
  readonly d: number;
  /** n * d values, vector i at [i*d, (i+1)*d). */
  readonly data: Float64Array;
}

export function vectorSet(n: number, d: number, data: Float64Array = new Float64Array(n * d)): VectorSet {
  if (data.length !== n * d) throw new DimensionMismatchError('vector set buffer', n * d, data.length);
  return { n, d, data };
}

/** Builds a VectorSet from arrays, checking every row has the same dimension and finite values. */
export function vectorSetFromRows(rows: ArrayLike<number>[], what = 'vectors'): VectorSet {
  if (rows.length === 0) throw new InvalidInputError(`${what}: at least one vector is required`);
  const d = rows[0].length;
  const data = new Float64Array(rows.length * d);
  rows.forEach((row, i) => {
    if (row.length !== d) throw new DimensionMismatchError(`${what}[${i}]`, d, row.length);
    for (let j = 0; j < d; j++) {
      const v = row[j];
      if (!Number.isFinite(v)) throw new InvalidInputError(`${what}[${i}][${j}] is not a finite number`);
      data[i * d + j] = v;
    }
  });
  return { n: rows.length, d, data };
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

export function squaredDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) {
    const x = a[j] - b[j];
    s += x * x;
  }
  return s;
}

/** Throws unless every value is finite: NaN or infinity must never reach the math. */
export function assertFinite(values: ArrayLike<number>, what: string): void {
  for (let j = 0; j < values.length; j++) {
    if (!Number.isFinite(values[j])) throw new InvalidInputError(`${what}[${j}] is not a finite number`);
  }
}

/** Throws a DimensionMismatchError unless `values.length === d`. */
export function assertDimension(values: ArrayLike<number>, d: number, what: string): void {
  if (values.length !== d) throw new DimensionMismatchError(what, d, values.length);
}
