import { describe, expect, it } from 'vitest';
import { InvalidInputError, MalformedDataError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { fitPca } from '../../../lib/ml/pca';
import { decodePcaModel, encodePcaModel, PCA_MAGIC } from '../../../lib/ml/pca-format';
import type { PcaModel } from '../../../lib/ml/types';

function sampleModel(): PcaModel {
  const random = seededRandom(21);
  const n = 200;
  const d = 5;
  const data = Float64Array.from({ length: n * d }, (_, i) => random.gaussian() * (1 + (i % d)));
  return fitPca({ n, d, data }, 2);
}

/** Offsets of the v1 layout: 6 header, 4 d, 4 c, 8 totalVariance, then mean, variances, basis. */
const MEAN_AT = 22;
const d = 5;
const c = 2;
const VARIANCE_AT = MEAN_AT + 8 * d;
const BASIS_AT = VARIANCE_AT + 8 * c;

function withF64(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setFloat64(at, value, true);
  return copy;
}

function withU32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(at, value, true);
  return copy;
}

describe('PCA model format', () => {
  const model = sampleModel();
  const bytes = encodePcaModel(model);

  it('round-trips exactly', () => {
    expect(bytes.length).toBe(BASIS_AT + 8 * c * d);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe(PCA_MAGIC);
    const decoded = decodePcaModel(bytes);
    expect(decoded.inputDimension).toBe(model.inputDimension);
    expect(decoded.components).toBe(model.components);
    expect(decoded.totalVariance).toBe(model.totalVariance);
    expect(Array.from(decoded.mean)).toEqual(Array.from(model.mean));
    expect(Array.from(decoded.explainedVariance)).toEqual(Array.from(model.explainedVariance));
    expect(Array.from(decoded.basis)).toEqual(Array.from(model.basis));
    expect(encodePcaModel(decoded)).toEqual(bytes);
  });

  it('rejects every truncation and any trailing byte', () => {
    for (let length = 0; length < bytes.length; length++) {
      expect(() => decodePcaModel(bytes.subarray(0, length))).toThrow(MalformedDataError);
    }
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(() => decodePcaModel(longer)).toThrow(MalformedDataError);
  });

  it('rejects a foreign magic or an unknown version', () => {
    const magic = bytes.slice();
    magic[0] = 'X'.charCodeAt(0);
    expect(() => decodePcaModel(magic)).toThrow(/bad magic/);
    const version = bytes.slice();
    version[4] = 9;
    expect(() => decodePcaModel(version)).toThrow(/unsupported version/);
  });

  it('rejects non-finite values', () => {
    expect(() => decodePcaModel(withF64(bytes, 14, Number.NaN))).toThrow(MalformedDataError);
    expect(() => decodePcaModel(withF64(bytes, MEAN_AT + 8, Number.NaN))).toThrow(/mean\[1\]/);
    expect(() => decodePcaModel(withF64(bytes, VARIANCE_AT, Infinity))).toThrow(MalformedDataError);
    expect(() => decodePcaModel(withF64(bytes, BASIS_AT + 24, -Infinity))).toThrow(/basis\[3\]/);
  });

  it('rejects inconsistent dimensions and contents', () => {
    expect(() => decodePcaModel(withU32(bytes, 6, 0))).toThrow(/inputDimension/);
    expect(() => decodePcaModel(withU32(bytes, 10, 6))).toThrow(/components/);
    expect(() => decodePcaModel(withU32(bytes, 10, 0))).toThrow(/components/);
    // A header claiming more data than present (not a silent partial read).
    expect(() => decodePcaModel(withU32(bytes, 6, 4))).toThrow(MalformedDataError);
    expect(() => decodePcaModel(withF64(bytes, VARIANCE_AT, -1))).toThrow(/negative/);
    expect(() => decodePcaModel(withF64(bytes, VARIANCE_AT + 8, model.explainedVariance[0] * 2))).toThrow(/decreasing/);
    expect(() => decodePcaModel(withF64(bytes, 14, model.explainedVariance[0] / 2))).toThrow(/totalVariance/);
    expect(() => decodePcaModel(withF64(bytes, BASIS_AT, model.basis[0] + 0.01))).toThrow(/basis row 0|orthogonal/);
    // Both rows unit length but no longer orthogonal: copy row 0 into row 1.
    const copied = bytes.slice();
    copied.copyWithin(BASIS_AT + 8 * d, BASIS_AT, BASIS_AT + 8 * d);
    expect(() => decodePcaModel(copied)).toThrow(/not orthogonal/);
  });

  it('refuses to encode an invalid model', () => {
    expect(() => encodePcaModel({ ...model, mean: Float64Array.from([1, 2, Number.NaN, 4, 5]) })).toThrow(InvalidInputError);
    expect(() => encodePcaModel({ ...model, components: 6 })).toThrow(InvalidInputError);
    expect(() => encodePcaModel({ ...model, basis: model.basis.subarray(1) })).toThrow(InvalidInputError);
  });
});
