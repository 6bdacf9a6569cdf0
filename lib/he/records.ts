/**
 * The record layout every backend shares (see ./types): vector i lives in record
 * floor(i / vectorsPerRecord), records are fixed-size and stored in order, and a distance
 * request names vectors by their slot over the records it read.
 */
import { InvalidInputError } from '../core/errors';
import type { VectorSet } from '../linalg/vectors';
import { assertVectorSet } from './inputs';
import type { DistanceRequest, HeProvider } from './types';

/** ceil(n / vectorsPerRecord) for a vector count n (InvalidInputError for anything but n >= 0). */
export function recordCountOf(n: number, vectorsPerRecord: number): number {
  if (!Number.isInteger(n) || n < 0) throw new InvalidInputError(`vector count ${n} must be a non-negative integer`);
  return Math.ceil(n / vectorsPerRecord);
}

export function assertRecordIndex(vectors: VectorSet, recordIndex: number, vectorsPerRecord: number): void {
  const count = Math.ceil(vectors.n / vectorsPerRecord);
  if (!Number.isInteger(recordIndex) || recordIndex < 0 || recordIndex >= count) {
    throw new InvalidInputError(`record index ${recordIndex} is outside [0, ${count}) for ${vectors.n} vectors`);
  }
}

/** HeProvider.encryptRecords: every record of `vectors`, concatenated in order. */
export function encryptAllRecords(provider: HeProvider, vectors: VectorSet): Uint8Array {
  assertVectorSet(vectors, provider.descriptor.d);
  const count = provider.recordCount(vectors.n);
  const size = provider.descriptor.recordBytes;
  const out = new Uint8Array(count * size);
  for (let r = 0; r < count; r++) out.set(provider.encryptRecord(vectors, r), r * size);
  return out;
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
