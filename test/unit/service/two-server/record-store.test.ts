/**
 * ObjectStoreRecordStore: byte-range reads of the records object on s3rver, reads of one stage
 * gathered and coalesced, long spans split, bounded concurrency.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, MalformedDataError } from '../../../../lib/core/errors';
import { seededRandom } from '../../../../lib/core/random';
import { S3ObjectStore } from '../../../../lib/storage/s3-object-store';
import type { ObjectStore } from '../../../../lib/storage/types';
import { ObjectStoreRecordStore, planSpans } from '../../../../lib/twoserver/transport/object-record-store';
import { startLocalAws } from '../../../support/local-aws';
import type { LocalAws } from '../../../support/local-aws';

const KEY = 'owners/' + 'd'.repeat(52) + '/indexes/faces/v1/records';

/** Counts range GETs and how many run at once. */
class CountingStore {
  gets: Array<[number, number]> = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(private readonly inner: ObjectStore) {}
  asStore(): ObjectStore {
    return {
      put: (k, b, t) => this.inner.put(k, b, t),
      get: (k) => this.inner.get(k),
      getRange: async (k, s, e) => {
        this.gets.push([s, e]);
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return await this.inner.getRange(k, s, e);
        } finally {
          this.inFlight--;
        }
      },
      head: (k) => this.inner.head(k),
      delete: (k) => this.inner.delete(k),
      presignPut: (k, o) => this.inner.presignPut(k, o),
      presignGet: (k, o) => this.inner.presignGet(k, o),
    };
  }
}

describe('ObjectStoreRecordStore', () => {
  let aws: LocalAws;
  let s3: ObjectStore;
  const blob = new Uint8Array(100_000);

  beforeAll(async () => {
    aws = await startLocalAws();
    s3 = new S3ObjectStore({ client: aws.s3, bucket: aws.bucketName });
    const random = seededRandom(4);
    for (let i = 0; i < blob.length; i++) blob[i] = random.int(256);
    await s3.put(KEY, blob);
  });
  afterAll(() => aws?.stop());

  it('plans spans: merges overlaps and small gaps, never beyond the range limit', () => {
    const reads = [
      { start: 300, end: 400 },
      { start: 0, end: 100 },
      { start: 100, end: 200 },
      { start: 250, end: 260 },
      { start: 1000, end: 1100 },
    ];
    expect(planSpans(reads, 0, 10_000).map(({ start, end }) => [start, end])).toEqual([[0, 200], [250, 260], [300, 400], [1000, 1100]]);
    expect(planSpans(reads, 60, 10_000).map(({ start, end }) => [start, end])).toEqual([[0, 400], [1000, 1100]]);
    expect(planSpans(reads, 60, 300).map(({ start, end }) => [start, end])).toEqual([[0, 260], [300, 400], [1000, 1100]]);
    expect(planSpans(reads, 1000, 10_000)[0].reads).toHaveLength(5);
  });

  it('returns exactly the requested bytes, gathering the reads of one stage into few GETs', async () => {
    const counting = new CountingStore(s3);
    const store = new ObjectStoreRecordStore({ objects: counting.asStore(), key: KEY, size: blob.length, maxGapBytes: 1000, concurrency: 8 });
    // [offset, length]
    const ranges: Array<[number, number]> = [
      [0, 500],
      [500, 500],
      [1500, 500],
      [50_000, 1000],
      [99_000, 1000],
    ];
    const results = await Promise.all(ranges.map(([offset, length]) => store.read(offset, length)));
    results.forEach((bytes, i) => expect(Buffer.from(bytes).equals(Buffer.from(blob.subarray(ranges[i][0], ranges[i][0] + ranges[i][1])))).toBe(true));
    // [0,500) + [500,1000) + [1500,2000) -> one GET (gaps 0 and 500 <= 1000); the others far apart.
    expect(counting.gets.sort((a, b) => a[0] - b[0])).toEqual([
      [0, 2000],
      [50_000, 51_000],
      [99_000, 100_000],
    ]);
    expect(store.gets).toBe(3);
  });

  it('splits long spans into parallel GETs of at most maxRangeBytes, at most `concurrency` at once', async () => {
    const counting = new CountingStore(s3);
    const store = new ObjectStoreRecordStore({ objects: counting.asStore(), key: KEY, size: blob.length, maxRangeBytes: 10_000, concurrency: 3, maxGapBytes: 0 });
    const bytes = await store.read(0, 95_000);
    expect(Buffer.from(bytes).equals(Buffer.from(blob.subarray(0, 95_000)))).toBe(true);
    expect(counting.gets).toHaveLength(10);
    expect(counting.gets.every(([s, e]) => e - s <= 10_000)).toBe(true);
    expect(counting.maxInFlight).toBe(3);
  });

  it('refuses ranges outside the object, and reports a records object shorter than its metadata', async () => {
    const store = new ObjectStoreRecordStore({ objects: s3, key: KEY, size: blob.length });
    await expect(store.read(99_999, 2)).rejects.toThrow(InvalidInputError);
    await expect(store.read(-1, 2)).rejects.toThrow(InvalidInputError);
    await expect(store.read(0, 0)).rejects.toThrow(InvalidInputError);
    const lying = new ObjectStoreRecordStore({ objects: s3, key: KEY, size: blob.length + 1000 });
    await expect(lying.read(99_500, 1000)).rejects.toThrow(MalformedDataError);
  });
});
