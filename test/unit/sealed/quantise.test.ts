/** Leaf encodings: float16 conversion, int8 parameters, exact distances to decoded rows. */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lib/core/random';
import { bytesPerCoordinate, decodeRows, encodeRows, fitInt8, fromFloat16Bits, prepareQuery, squaredDistanceToRow, toFloat16Bits } from '../../../lib/sealed/quantise';
import type { SealedQuantisation } from '../../../lib/sealed/types';

describe('float16', () => {
  it('converts the landmark values exactly', () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [1 / 3, 0x3555],
      [Infinity, 0x7c00],
      [70000, 0x7c00], // overflow
      [2 ** -26, 0x0000], // underflow
    ];
    for (const [value, bits] of cases) {
      expect(toFloat16Bits(value), String(value)).toBe(bits);
      if (Number.isFinite(value) && Math.abs(value) <= 65504 && Math.abs(value) >= 2 ** -24) {
        expect(Math.abs(fromFloat16Bits(bits) - value) / Math.abs(value)).toBeLessThan(2 ** -11);
      }
    }
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN)))).toBe(true);
  });

  it('rounds to nearest, ties to even, and round-trips every finite half', () => {
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties to the even mantissa (1).
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    const wrong: number[] = [];
    for (let h = 0; h < 0x7c00; h++) {
      if (toFloat16Bits(fromFloat16Bits(h)) !== h || toFloat16Bits(-fromFloat16Bits(h)) !== (h | 0x8000)) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });
});

describe('int8', () => {
  it('covers every dimension’s range within half a step, constant dimensions exactly', () => {
    const random = seededRandom(4);
    const n = 500;
    const d = 6;
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d - 1; j++) data[i * d + j] = (random.gaussian() * (j + 1)) ** 3;
      data[i * d + d - 1] = 7.25;
    }
    const params = fitInt8(data, n, d);
    const out = new Uint8Array(n * d);
    encodeRows(data, d, Uint32Array.from({ length: n }, (_, i) => i), 'int8', params, out, 0);
    const rows = decodeRows(out, 0, n, d, 'int8', params);
    if (rows.kind !== 'int8') throw new Error('expected int8 rows');
    for (let i = 0; i < n * d; i++) {
      const j = i % d;
      expect(Math.abs(rows.codes[i])).toBeLessThanOrEqual(127);
      const decoded = params.offset[j] + params.scale[j] * rows.codes[i];
      expect(Math.abs(decoded - data[i])).toBeLessThanOrEqual(params.scale[j] * 0.5 + 1e-6 * Math.abs(data[i]) + 1e-9);
    }
  });
});

describe('distances to decoded rows', () => {
  it('equal the distance to the decoded vector for every encoding', () => {
    const random = seededRandom(9);
    const n = 40;
    const d = 13;
    const data = Float64Array.from({ length: n * d }, () => random.gaussian());
    const query = Float64Array.from({ length: d }, () => random.gaussian());
    for (const quantisation of ['float32', 'float16', 'int8'] as SealedQuantisation[]) {
      const params = quantisation === 'int8' ? fitInt8(data, n, d) : undefined;
      const out = new Uint8Array(n * d * bytesPerCoordinate(quantisation) + 3);
      const end = encodeRows(data, d, Uint32Array.from({ length: n }, (_, i) => i), quantisation, params, out, 3);
      expect(end).toBe(out.length);
      const rows = decodeRows(out, 3, n, d, quantisation, params);
      const prepared = prepareQuery(query, d, rows);
      for (let i = 0; i < n; i++) {
        let expected = 0;
        for (let j = 0; j < d; j++) {
          const decoded = rows.kind === 'float' ? rows.values[i * d + j] : params!.offset[j] + params!.scale[j] * rows.codes[i * d + j];
          expected += (query[j] - decoded) ** 2;
          // The encoding error is what the format promises.
          const tolerance = quantisation === 'float32' ? 1e-6 : quantisation === 'float16' ? 2e-3 : params ? params.scale[j] / 2 + 1e-6 : 0;
          expect(Math.abs(decoded - data[i * d + j])).toBeLessThanOrEqual(tolerance * (quantisation === 'int8' ? 1 : Math.max(1, Math.abs(data[i * d + j]))));
        }
        expect(squaredDistanceToRow(prepared, rows, i, d)).toBeCloseTo(expected, 6);
      }
    }
  });
});
