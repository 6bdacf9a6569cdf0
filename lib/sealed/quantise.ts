/**
 * How the vectors of a sealed leaf are stored, and exact distances to them. Three encodings:
 *
 * - float32: 4 bytes a coordinate, the vector as built (rounded to single precision).
 * - float16: 2 bytes, IEEE 754 half precision (round to nearest even); about 3 significant
 *   decimal digits, which PCA'd features do not need more of.
 * - int8: 1 byte, per-dimension affine scalar quantisation x_j ~ offset_j + scale_j * c_j with
 *   c_j in [-127, 127]; offset and scale are fitted on the collection (each dimension's range)
 *   and kept in the sealed routing data.
 *
 * Ranking is exact on the stored (decoded) vectors: the client computes the squared Euclidean
 * distance from the float query to every decoded vector. What quantisation costs is measured in
 * recall against exact plaintext kNN (`npm run bench -- sealed`), not assumed.
 *
 * No node:* imports: the client half runs in browsers.
 */
import { InvalidInputError } from '../core/errors';
import type { DecodedRows, QuantisationParams, SealedQuantisation } from './types';

export const QUANTISATIONS: readonly SealedQuantisation[] = ['float32', 'float16', 'int8'];
const INT8_MAX = 127;

/** Bytes one coordinate takes in a leaf. */
export function bytesPerCoordinate(quantisation: SealedQuantisation): number {
  return quantisation === 'float32' ? 4 : quantisation === 'float16' ? 2 : 1;
}

export function quantisationCode(quantisation: SealedQuantisation): number {
  return QUANTISATIONS.indexOf(quantisation);
}

export function quantisationOfCode(code: number): SealedQuantisation | undefined {
  return QUANTISATIONS[code];
}

// ---------------------------------------------------------------------------------------------
// float16

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of x, rounded to nearest even (beyond 65504: infinity). */
export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit 1 in and round.
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let value = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    if (rest > half || (rest === half && (value & 1) === 1)) value++;
    return sign | value;
  }
  let value = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa bumps the exponent, up to infinity: exactly IEEE rounding.
  if (rest > 0x1000 || (rest === 0x1000 && (value & 1) === 1)) value++;
  return sign | value;
}

let halfTable: Float32Array | undefined;

/** All 65,536 half-precision values as float32 (built once, 256 KB): decoding is one lookup. */
function float16Table(): Float32Array {
  if (halfTable !== undefined) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) table[h] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) table[h] = mantissa === 0 ? sign * Infinity : Number.NaN;
    else table[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  halfTable = table;
  return table;
}

/**
 * @internal Exported for the tests: the inverse of toFloat16Bits through the same table decodeRows
 * reads (float16Table), so the round trip of every half is checked.
 */
export function fromFloat16Bits(bits: number): number {
  return float16Table()[bits & 0xffff];
}

// ---------------------------------------------------------------------------------------------
// int8

/**
 * Per-dimension offset and scale covering each dimension's range in [-127, 127] codes. A
 * constant dimension gets scale 1 (every code 0 then decodes exactly to the constant).
 */
export function fitInt8(data: Float64Array, n: number, d: number): QuantisationParams {
  const lo = new Float64Array(d).fill(Infinity);
  const hi = new Float64Array(d).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const v = data[o + j];
      if (v < lo[j]) lo[j] = v;
      if (v > hi[j]) hi[j] = v;
    }
  }
  const offset = new Float32Array(d);
  const scale = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    offset[j] = (lo[j] + hi[j]) / 2;
    const s = (hi[j] - lo[j]) / (2 * INT8_MAX);
    // float32 rounding of the scale must still cover the range: widen by a hair.
    scale[j] = s > 0 ? s * (1 + 1e-6) : 1;
  }
  return { offset, scale };
}

function int8Code(value: number, offset: number, scale: number): number {
  const c = Math.round((value - offset) / scale);
  return c > INT8_MAX ? INT8_MAX : c < -INT8_MAX ? -INT8_MAX : c;
}

// ---------------------------------------------------------------------------------------------
// Encoding rows into leaf bytes, decoding them back

/**
 * Writes `count` rows (indices into `data`, rows of d) into `out` at `at`, in the given
 * encoding (little-endian). Returns the offset after the last byte.
 */
export function encodeRows(
  data: Float64Array,
  d: number,
  rows: ArrayLike<number>,
  quantisation: SealedQuantisation,
  params: QuantisationParams | undefined,
  out: Uint8Array,
  at: number,
): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let r = 0; r < rows.length; r++) {
    const o = rows[r] * d;
    for (let j = 0; j < d; j++) {
      const v = data[o + j];
      if (quantisation === 'float32') {
        view.setFloat32(at, v, true);
        at += 4;
      } else if (quantisation === 'float16') {
        view.setUint16(at, toFloat16Bits(v), true);
        at += 2;
      } else {
        view.setInt8(at, int8Code(v, params!.offset[j], params!.scale[j]));
        at += 1;
      }
    }
  }
  return at;
}

/** Reads `count` rows of d from `bytes` at `at` (length checked by the caller). */
export function decodeRows(
  bytes: Uint8Array,
  at: number,
  count: number,
  d: number,
  quantisation: SealedQuantisation,
  params: QuantisationParams | undefined,
): DecodedRows {
  const total = count * d;
  if (quantisation === 'int8') {
    const codes = new Int8Array(total);
    codes.set(new Int8Array(bytes.buffer, bytes.byteOffset + at, total));
    return { kind: 'int8', codes, params: params! };
  }
  const values = new Float32Array(total);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (quantisation === 'float32') {
    for (let i = 0; i < total; i++) values[i] = view.getFloat32(at + i * 4, true);
  } else {
    const table = float16Table();
    for (let i = 0; i < total; i++) values[i] = table[view.getUint16(at + i * 2, true)];
  }
  return { kind: 'float', values };
}

/** The query prepared for one encoding: int8 distances work on (q - offset) and scale. */
export interface PreparedQuery {
  readonly q: Float64Array;
  readonly scale?: Float32Array;
}

export function prepareQuery(query: ArrayLike<number>, d: number, rows: DecodedRows): PreparedQuery {
  if (query.length !== d) throw new InvalidInputError(`the query has ${query.length} dimensions, the index ${d}`);
  const q = new Float64Array(d);
  if (rows.kind === 'int8') {
    for (let j = 0; j < d; j++) q[j] = query[j] - rows.params.offset[j];
    return { q, scale: rows.params.scale };
  }
  for (let j = 0; j < d; j++) q[j] = query[j];
  return { q };
}

/** Squared distance from the prepared query to row `row` of the decoded rows. */
export function squaredDistanceToRow(query: PreparedQuery, rows: DecodedRows, row: number, d: number): number {
  const { q } = query;
  const o = row * d;
  let s0 = 0;
  let s1 = 0;
  let j = 0;
  if (rows.kind === 'float') {
    const v = rows.values;
    for (; j + 1 < d; j += 2) {
      const a = q[j] - v[o + j];
      const b = q[j + 1] - v[o + j + 1];
      s0 += a * a;
      s1 += b * b;
    }
    for (; j < d; j++) {
      const a = q[j] - v[o + j];
      s0 += a * a;
    }
  } else {
    const c = rows.codes;
    const scale = query.scale!;
    for (; j + 1 < d; j += 2) {
      const a = q[j] - scale[j] * c[o + j];
      const b = q[j + 1] - scale[j + 1] * c[o + j + 1];
      s0 += a * a;
      s1 += b * b;
    }
    for (; j < d; j++) {
      const a = q[j] - scale[j] * c[o + j];
      s0 += a * a;
    }
  }
  return s0 + s1;
}
