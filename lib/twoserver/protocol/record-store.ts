/**
 * In-memory {@link RecordStore} over the records blob (tests, benchmarks, single-process
 * deployments). An object-store implementation reads the same byte ranges with range GETs.
 */
import { InvalidInputError } from '../../core/errors';
import type { RecordStore } from './types';

export class MemoryRecordStore implements RecordStore {
  /** Reads served so far and their total bytes (what a remote store would bill). */
  reads = 0;
  bytesRead = 0;

  constructor(private readonly blob: Uint8Array) {
    if (!(blob instanceof Uint8Array)) throw new InvalidInputError('record store: a Uint8Array is required');
  }

  get size(): number {
    return this.blob.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.blob.length) {
      throw new InvalidInputError(`record store: range [${offset}, ${offset} + ${length}) is outside the ${this.blob.length}-byte blob`);
    }
    this.reads++;
    this.bytesRead += length;
    // A view, not a copy: callers only read records.
    return this.blob.subarray(offset, offset + length);
  }
}
