/**
 * Versioned binary format of a {@link PcaModel} (users receive it to project their query
 * features exactly as the owner projected the index).
 *
 * Layout v1 (little-endian):
 *   "BSPC" u16 version
 *   u32 inputDimension d, u32 components c, f64 totalVariance
 *   f64[d] mean, f64[c] explainedVariance, f64[c * d] basis (row-major)
 *
 * The decoder rejects anything a fit cannot produce: non-finite values, c outside [1, d],
 * negative or increasing variances, a basis whose rows are not orthonormal, and any byte count
 * other than the exact size the header implies.
 */
import { InvalidInputError } from '../core/errors';
import { BinaryReader, BinaryWriter } from '../codec/binary';
import type { PcaModel } from './types';

export const PCA_MAGIC = 'BSPC';
export const PCA_FORMAT_VERSION = 1;
/** Largest input dimension the format accepts (bounds the allocation a header can request). */
export const PCA_MAX_INPUT_DIMENSION = 1 << 16;
/** Orthonormality tolerance of the stored basis (a fit is orthonormal to ~1e-13). */
const ORTHONORMAL_TOLERANCE = 1e-6;

const HEADER_BYTES = 4 + 2 + 4 + 4 + 8;

export function encodePcaModel(model: PcaModel): Uint8Array {
  const d = model.inputDimension;
  const c = model.components;
  if (!Number.isSafeInteger(d) || d < 1 || d > PCA_MAX_INPUT_DIMENSION) {
    throw new InvalidInputError(`PCA model: inputDimension must be an integer in [1, ${PCA_MAX_INPUT_DIMENSION}]`);
  }
  if (!Number.isSafeInteger(c) || c < 1 || c > d) {
    throw new InvalidInputError(`PCA model: components must be an integer in [1, ${d}]`);
  }
  expectLength(model.mean, d, 'mean');
  expectLength(model.explainedVariance, c, 'explainedVariance');
  expectLength(model.basis, c * d, 'basis');
  if (!Number.isFinite(model.totalVariance)) throw new InvalidInputError('PCA model: totalVariance is not finite');
  for (const [name, values] of [
    ['mean', model.mean],
    ['explainedVariance', model.explainedVariance],
    ['basis', model.basis],
  ] as const) {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) throw new InvalidInputError(`PCA model: ${name}[${i}] is not finite`);
    }
  }
  return new BinaryWriter(HEADER_BYTES + 8 * (d + c + c * d))
    .header(PCA_MAGIC, PCA_FORMAT_VERSION)
    .u32(d)
    .u32(c)
    .f64(model.totalVariance)
    .f64Array(model.mean)
    .f64Array(model.explainedVariance)
    .f64Array(model.basis)
    .finish();
}

/** @throws MalformedDataError for truncated, oversized, foreign or inconsistent bytes. */
export function decodePcaModel(bytes: Uint8Array): PcaModel {
  const reader = new BinaryReader(bytes, 'PCA model');
  reader.header(PCA_MAGIC, [PCA_FORMAT_VERSION]);
  const d = reader.u32InRange('inputDimension', 1, PCA_MAX_INPUT_DIMENSION);
  const c = reader.u32InRange('components', 1, d);
  const expected = 8 + 8 * (d + c + c * d);
  if (reader.remaining !== expected) {
    reader.fail(`expected ${expected} bytes after the dimensions, found ${reader.remaining}`);
  }
  const totalVariance = reader.finite('totalVariance');
  const mean = reader.f64Array(d, 'mean');
  const explainedVariance = reader.f64Array(c, 'explainedVariance');
  const basis = reader.f64Array(c * d, 'basis');
  reader.end();

  let sum = 0;
  for (let k = 0; k < c; k++) {
    const v = explainedVariance[k];
    if (v < 0) reader.fail(`explainedVariance[${k}] is negative`);
    if (k > 0 && v > explainedVariance[k - 1]) reader.fail('explainedVariance is not in decreasing order');
    sum += v;
  }
  if (totalVariance < 0 || sum > totalVariance * (1 + 1e-9) + 1e-12) {
    reader.fail('totalVariance is smaller than the sum of the explained variances');
  }
  const problem = orthonormalityProblem(basis, c, d);
  if (problem) reader.fail(problem);
  return { inputDimension: d, components: c, mean, basis, explainedVariance, totalVariance };
}

function expectLength(values: ArrayLike<number>, length: number, name: string): void {
  if (!(values instanceof Float64Array) || values.length !== length) {
    throw new InvalidInputError(`PCA model: ${name} must be a Float64Array of ${length} entries`);
  }
}

/** O(c^2 d) Gram check of the basis rows: each unit length, pairwise orthogonal. */
function orthonormalityProblem(basis: Float64Array, c: number, d: number): string | undefined {
  for (let a = 0; a < c; a++) {
    for (let b = a; b < c; b++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += basis[a * d + j] * basis[b * d + j];
      const target = a === b ? 1 : 0;
      if (Math.abs(s - target) > ORTHONORMAL_TOLERANCE) {
        return a === b ? `basis row ${a} is not unit length` : `basis rows ${a} and ${b} are not orthogonal`;
      }
    }
  }
  return undefined;
}
