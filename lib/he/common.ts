/**
 * Helpers shared by the HE backends: vector-bound validation, the worst-case blinded distance,
 * fixed-width big-integer encoding, key ids, and splitting a distance request into records.
 */
import { randomBytes } from 'node:crypto';
import { DimensionMismatchError, InvalidInputError, InvalidParametersError } from '../core/errors';
import type { BinaryReader, BinaryWriter } from '../codec/binary';
import type { VectorSet } from '../linalg/vectors';
import { validateBlindingRange } from './blinding';
import type { DistanceRequest, HeResolvedBounds, HeVectorBounds } from './types';

/** Key ids are 8 random bytes, shown as 16 hex characters. */
export const KEY_ID_BYTES = 8;

export function newKeyId(): string {
  return randomBytes(KEY_ID_BYTES).toString('hex');
}

export function writeKeyId(writer: BinaryWriter, keyId: string): void {
  writer.bytes(Buffer.from(keyId, 'hex'));
}

export function readKeyId(reader: BinaryReader): string {
  return Buffer.from(reader.bytes(KEY_ID_BYTES, 'key id')).toString('hex');
}

/** Largest squared distance d * (2 * maxAbs)^2 between two vectors in the box. */
export function dist2MaxOf(bounds: Pick<HeVectorBounds, 'd' | 'maxAbs'>): number {
  return bounds.d * (2 * bounds.maxAbs) ** 2;
}

/** Largest blinded value a_max * dist2_max + b_max, exactly. */
export function blindedMaxOf(bounds: HeResolvedBounds): bigint {
  const aMax = (1n << BigInt(bounds.aBits)) - 1n;
  const bMax = (1n << BigInt(bounds.bBits)) - 1n;
  return aMax * BigInt(dist2MaxOf(bounds)) + bMax;
}

/** log2 of a positive bigint, to one decimal, for error messages. */
export function log2Text(value: bigint): string {
  if (value <= 0n) return '-inf';
  const bits = value.toString(2).length;
  if (bits <= 53) return Math.log2(Number(value)).toFixed(1);
  const top = Number(value >> BigInt(bits - 53));
  return (Math.log2(top) + bits - 53).toFixed(1);
}

/** Checks d and maxAbs; the blinding range and the scheme-specific checks come after. */
export function validateDimensionBounds(bounds: HeVectorBounds): void {
  if (bounds === null || typeof bounds !== 'object') throw new InvalidParametersError('HE parameters: an object is required');
  const { d, maxAbs } = bounds;
  if (!Number.isInteger(d) || d < 1 || d > 65536) {
    throw new InvalidParametersError(`HE parameters: d = ${d} must be an integer in [1, 65536]`);
  }
  if (!Number.isInteger(maxAbs) || maxAbs < 1 || maxAbs > 1 << 24) {
    throw new InvalidParametersError(`HE parameters: maxAbs = ${maxAbs} must be an integer in [1, 2^24]`);
  }
  if (!Number.isSafeInteger(dist2MaxOf(bounds))) {
    throw new InvalidParametersError(
      `HE parameters: the largest squared distance d * (2 * maxAbs)^2 exceeds 2^53 for d = ${d}, maxAbs = ${maxAbs}; decrease maxAbs`,
    );
  }
}

/** Checks d, maxAbs and the (resolved) blinding range; the scheme-specific checks come after. */
export function validateVectorBounds(bounds: HeResolvedBounds): void {
  validateDimensionBounds(bounds);
  validateBlindingRange(bounds);
}

/** Coordinates must be integers with |x| <= maxAbs: anything else would decrypt to a wrong distance. */
export function assertIntegerCoordinate(value: number, maxAbs: number, what: string): void {
  if (!Number.isInteger(value) || Math.abs(value) > maxAbs) {
    throw new InvalidInputError(`${what} must be an integer in [-${maxAbs}, ${maxAbs}] (scale embeddings by 10^3 and round)`);
  }
}

export function assertVectorSet(vectors: VectorSet, d: number): void {
  if (vectors === null || typeof vectors !== 'object' || !(vectors.data instanceof Float64Array)) {
    throw new InvalidInputError('vectors: a VectorSet is required');
  }
  if (vectors.d !== d) throw new DimensionMismatchError('vectors', d, vectors.d);
  if (vectors.data.length !== vectors.n * vectors.d) {
    throw new DimensionMismatchError('vector set buffer', vectors.n * vectors.d, vectors.data.length);
  }
}

export function assertRecordIndex(vectors: VectorSet, recordIndex: number, vectorsPerRecord: number): void {
  const count = Math.ceil(vectors.n / vectorsPerRecord);
  if (!Number.isInteger(recordIndex) || recordIndex < 0 || recordIndex >= count) {
    throw new InvalidInputError(`record index ${recordIndex} is outside [0, ${count}) for ${vectors.n} vectors`);
  }
}

/** Big-endian, exactly `length` bytes; the value must fit (callers guarantee value < modulus). */
export function bigIntToFixedBytes(value: bigint, length: number): Uint8Array {
  const hex = value.toString(16);
  if (value < 0n || hex.length > length * 2) throw new RangeError('value does not fit the fixed width');
  return Buffer.from(hex.padStart(length * 2, '0'), 'hex');
}

export function fixedBytesToBigInt(bytes: Uint8Array, offset: number, length: number): bigint {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString('hex');
  return hex.length === 0 ? 0n : BigInt(`0x${hex}`);
}

export function writeFixedBigInt(writer: BinaryWriter, value: bigint, length: number): void {
  writer.bytes(bigIntToFixedBytes(value, length));
}

/** Reads a fixed-width value that must lie in [0, bound). */
export function readFixedBigInt(reader: BinaryReader, length: number, bound: bigint, field: string): bigint {
  const bytes = reader.bytes(length, field);
  const value = fixedBytesToBigInt(bytes, 0, length);
  if (value >= bound) reader.fail(`${field} is out of range`);
  return value;
}

/** One record of a request: where its bytes are and which slots of it were asked for. */
export interface RequestedRecord {
  readonly bytes: Uint8Array;
  /** Slot of the record's first vector in the request. */
  readonly firstSlot: number;
}

/**
 * Splits the byte-range reads of a request into records and checks the slots: distinct integers
 * naming a vector of one of the records. Returns the records and, per record, the requested
 * positions inside it (-1 where not requested).
 */
export function splitRequest(
  request: DistanceRequest,
  recordBytes: number,
  vectorsPerRecord: number,
): { records: RequestedRecord[]; wanted: Int32Array[] } {
  if (request === null || typeof request !== 'object' || !Array.isArray(request.records) || !Array.isArray(request.slots)) {
    throw new InvalidInputError('distance request: records and slots arrays are required');
  }
  const records: RequestedRecord[] = [];
  for (let k = 0; k < request.records.length; k++) {
    const run = request.records[k];
    if (!(run instanceof Uint8Array) || run.length === 0 || run.length % recordBytes !== 0) {
      throw new InvalidInputError(
        `distance request: records[${k}] must be a non-empty multiple of the record size ${recordBytes} bytes (read whole records)`,
      );
    }
    for (let at = 0; at < run.length; at += recordBytes) {
      records.push({ bytes: run.subarray(at, at + recordBytes), firstSlot: records.length * vectorsPerRecord });
    }
  }
  const slotCount = records.length * vectorsPerRecord;
  if (request.slots.length === 0) throw new InvalidInputError('distance request: at least one slot is required');
  const wanted = records.map(() => new Int32Array(vectorsPerRecord).fill(-1));
  for (const slot of request.slots) {
    if (!Number.isInteger(slot) || slot < 0 || slot >= slotCount) {
      throw new InvalidInputError(`distance request: slot ${slot} is outside [0, ${slotCount})`);
    }
    const record = Math.floor(slot / vectorsPerRecord);
    const position = slot % vectorsPerRecord;
    if (wanted[record][position] !== -1) throw new InvalidInputError(`distance request: slot ${slot} is listed twice`);
    wanted[record][position] = slot;
  }
  return { records, wanted };
}
