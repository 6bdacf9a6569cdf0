/**
 * {@link RecordStore} over the `records` object of a published two-server index version: fixed-
 * size encrypted records read by HTTP byte ranges.
 *
 * CS1 asks for all record runs of one stage at once (Promise.all over the read plan). Reads
 * issued in the same synchronous span are gathered and planned together: runs closer than
 * `maxGapBytes` are merged into one range GET (one request instead of two, for a few wasted
 * bytes), no GET grows beyond `maxRangeBytes` (a longer run is split into parts fetched in
 * parallel, which is also how S3 is read fastest), and at most `concurrency` GETs are in flight.
 */
import { InvalidInputError, MalformedDataError } from '../../core/errors';
import type { ObjectStore } from '../../storage/types';
import type { RecordStore } from '../protocol/types';

export const DEFAULT_RECORD_READ_CONCURRENCY = 8;
export const DEFAULT_MAX_RANGE_BYTES = 8 * 1024 * 1024;
/** A GET costs tens of milliseconds before its first byte; 256 KiB more takes a few. */
export const DEFAULT_MAX_GAP_BYTES = 256 * 1024;

export interface ObjectStoreRecordStoreOptions {
  readonly objects: ObjectStore;
  /** The records object's key (built with object-keys.ts from the version's part reference). */
  readonly key: string;
  /** Its size in bytes (from the version's metadata, checked at publish). */
  readonly size: number;
  readonly concurrency?: number;
  readonly maxRangeBytes?: number;
  readonly maxGapBytes?: number;
}

interface PendingRead {
  readonly start: number;
  readonly end: number;
  resolve(bytes: Uint8Array): void;
  reject(error: unknown): void;
}

interface Span {
  start: number;
  end: number;
  readonly reads: PendingRead[];
}

/** Reads sorted by start merged into spans (overlaps and gaps up to maxGap), bounded length. */
export function planSpans<T extends { start: number; end: number }>(
  reads: readonly T[],
  maxGap: number,
  maxRange: number,
): Array<{ start: number; end: number; reads: T[] }> {
  const sorted = [...reads].sort((a, b) => a.start - b.start || a.end - b.end);
  const spans: Array<{ start: number; end: number; reads: T[] }> = [];
  for (const read of sorted) {
    const last = spans.at(-1);
    if (last !== undefined && read.start <= last.end + maxGap && Math.max(last.end, read.end) - last.start <= maxRange) {
      last.end = Math.max(last.end, read.end);
      last.reads.push(read);
    } else {
      spans.push({ start: read.start, end: read.end, reads: [read] });
    }
  }
  return spans;
}

export class ObjectStoreRecordStore implements RecordStore {
  /** Range GETs made and the bytes they returned. */
  gets = 0;
  bytesFetched = 0;

  private readonly objects: ObjectStore;
  private readonly key: string;
  readonly size: number;
  private readonly concurrency: number;
  private readonly maxRangeBytes: number;
  private readonly maxGapBytes: number;
  private pending: PendingRead[] = [];
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(options: ObjectStoreRecordStoreOptions) {
    this.objects = options.objects;
    this.key = options.key;
    this.size = options.size;
    this.concurrency = options.concurrency ?? DEFAULT_RECORD_READ_CONCURRENCY;
    this.maxRangeBytes = options.maxRangeBytes ?? DEFAULT_MAX_RANGE_BYTES;
    this.maxGapBytes = options.maxGapBytes ?? DEFAULT_MAX_GAP_BYTES;
    if (!Number.isSafeInteger(this.size) || this.size < 0) throw new InvalidInputError('record store: size must be a non-negative integer');
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new InvalidInputError('record store: concurrency must be a positive integer');
    if (!Number.isSafeInteger(this.maxRangeBytes) || this.maxRangeBytes < 1) throw new InvalidInputError('record store: maxRangeBytes must be positive');
    if (!Number.isSafeInteger(this.maxGapBytes) || this.maxGapBytes < 0) throw new InvalidInputError('record store: maxGapBytes must be >= 0');
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 1 || offset + length > this.size) {
      return Promise.reject(new InvalidInputError(`record store: range [${offset}, ${offset} + ${length}) is outside the ${this.size}-byte records object`));
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      if (this.pending.length === 0) queueMicrotask(() => this.flush());
      this.pending.push({ start: offset, end: offset + length, resolve, reject });
    });
  }

  private flush(): void {
    const reads = this.pending;
    this.pending = [];
    for (const span of planSpans(reads, this.maxGapBytes, this.maxRangeBytes)) {
      this.fetchSpan(span).then(
        (bytes) => {
          for (const read of span.reads) read.resolve(bytes.subarray(read.start - span.start, read.end - span.start));
        },
        (error: unknown) => {
          for (const read of span.reads) read.reject(error);
        },
      );
    }
  }

  /** One span, in parts of at most maxRangeBytes fetched in parallel (under the limit). */
  private async fetchSpan(span: Span): Promise<Uint8Array> {
    const parts: Array<{ start: number; end: number }> = [];
    for (let start = span.start; start < span.end; start += this.maxRangeBytes) parts.push({ start, end: Math.min(span.end, start + this.maxRangeBytes) });
    const fetched = await Promise.all(parts.map((part) => this.limited(() => this.get(part.start, part.end))));
    if (fetched.length === 1) return fetched[0];
    const bytes = new Uint8Array(span.end - span.start);
    fetched.forEach((part, i) => bytes.set(part, parts[i].start - span.start));
    return bytes;
  }

  private async get(start: number, end: number): Promise<Uint8Array> {
    const bytes = await this.objects.getRange(this.key, start, end);
    if (bytes.length !== end - start) {
      throw new MalformedDataError('records object', `range [${start}, ${end}) returned ${bytes.length} bytes`);
    }
    this.gets++;
    this.bytesFetched += bytes.length;
    return bytes;
  }

  private async limited<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, so the count never overshoots.
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.running--;
    }
  }
}
