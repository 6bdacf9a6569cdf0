import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../lib/core/errors';
import {
  CHUNK_BYTES,
  decodePartDigests,
  digestBytes,
  digestObject,
  encodePartDigests,
  verifiedRange,
} from '../../../lib/service/versions/part-digests';
import { checkWhole } from '../../support/storage';

describe('part digests', () => {
  const bytes = new Uint8Array(randomBytes(3 * CHUNK_BYTES + 1234));
  const reader = (source: Uint8Array) => async (start: number, end: number) => source.slice(start, end);

  it('are the same whether taken in memory or by range reads, and survive the catalog encoding', async () => {
    const inMemory = digestBytes(bytes);
    const byRanges = await digestObject(bytes.length, reader(bytes));
    expect(byRanges).toEqual(inMemory);
    expect(inMemory.chunks.length).toBe(4 * 32);
    const decoded = decodePartDigests(encodePartDigests(new Map([['leaves', inMemory]])));
    expect(decoded.get('leaves')).toEqual(inMemory);
  });

  it('return exactly the asked bytes of an unchanged object, across chunk boundaries', async () => {
    const digest = digestBytes(bytes);
    for (const [start, end] of [
      [0, 1],
      [CHUNK_BYTES - 3, CHUNK_BYTES + 5],
      [10, bytes.length],
      [bytes.length - 1, bytes.length],
    ]) {
      expect(await verifiedRange(digest, reader(bytes), start, end, 'object "x"')).toEqual(bytes.subarray(start, end));
    }
  });

  it('refuse any changed byte of the chunks a read touches, naming the changed bytes', async () => {
    const digest = digestBytes(bytes);
    const changed = bytes.slice();
    changed[2 * CHUNK_BYTES + 7] ^= 0x80;
    // A read of other chunks is still served (only what is read is checked)...
    await expect(verifiedRange(digest, reader(changed), 0, CHUNK_BYTES, 'object "x"')).resolves.toHaveLength(CHUNK_BYTES);
    // ...a read touching the changed chunk, even by one byte elsewhere in it, is refused.
    const error = await verifiedRange(digest, reader(changed), 2 * CHUNK_BYTES + 100, 2 * CHUNK_BYTES + 101, 'object "x"').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toBe(
      `object "x": bytes ${2 * CHUNK_BYTES}-${3 * CHUNK_BYTES - 1} do not match the digest fixed at publish ` +
        '(the stored object was changed after publishing): no result is computed from it; the owner must publish the index again',
    );
    // Shortened objects and reads past the published length are refused too.
    await expect(verifiedRange(digest, reader(bytes.subarray(0, bytes.length - 1)), bytes.length - 5, bytes.length, 'x')).rejects.toThrow(IntegrityError);
    await expect(verifiedRange(digest, reader(bytes), 0, bytes.length + 1, 'x')).rejects.toThrow(IntegrityError);
    expect(() => checkWhole(digest, changed, 'x')).toThrow(IntegrityError);
    expect(() => checkWhole(digest, bytes, 'x')).not.toThrow();
  });
});
