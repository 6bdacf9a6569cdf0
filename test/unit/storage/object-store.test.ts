import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, MalformedDataError, NotFoundError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { imageObjectKey, indexPartObjectKey, indexPartUploadKey } from '../../../lib/storage/object-keys';
import { S3ObjectStore } from '../../../lib/storage/s3-object-store';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { toImageId, toIndexName, toOwnerId, toVersionId } from '../../support/ids';

const OWNER = toOwnerId('a'.repeat(52));

function seededBytes(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const random = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => random.int(256));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

describe('S3ObjectStore against s3rver', () => {
  let aws: LocalAws;
  let store: S3ObjectStore;

  beforeAll(async () => {
    aws = await startLocalAws();
    store = new S3ObjectStore({ client: aws.s3, bucket: aws.bucketName });
  });
  afterAll(() => aws.stop());

  it('puts, gets, heads and deletes an object', async () => {
    const key = imageObjectKey(OWNER, toImageId('img-1'));
    const bytes = seededBytes(10_000, 1);
    await store.put(key, bytes, 'application/octet-stream');
    expect(sameBytes(await store.get(key), bytes)).toBe(true);
    expect(await store.head(key)).toMatchObject({ size: 10_000, contentType: 'application/octet-stream' });
    await store.delete(key);
    expect(await store.head(key)).toBeUndefined();
    await expect(store.get(key)).rejects.toBeInstanceOf(NotFoundError);
    // Deleting again is not an error.
    await store.delete(key);
  });

  it('reads byte ranges (end exclusive) and reports ranges beyond the end as malformed metadata', async () => {
    const key = indexPartObjectKey(OWNER, toIndexName('faces'), toVersionId('v1'), 'leaves');
    const bytes = seededBytes(4096, 2);
    await store.put(key, bytes);
    expect(await store.getRange(key, 0, 1)).toEqual(bytes.subarray(0, 1));
    expect(await store.getRange(key, 100, 1100)).toEqual(bytes.subarray(100, 1100));
    expect(await store.getRange(key, 4000, 4096)).toEqual(bytes.subarray(4000, 4096));
    await expect(store.getRange(key, 4000, 5000)).rejects.toBeInstanceOf(MalformedDataError);
    await expect(store.getRange(key, 10, 10)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(store.getRange(key, -1, 10)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(store.getRange(imageObjectKey(OWNER, toImageId('absent')), 0, 10)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a presigned PUT uploads without credentials and a presigned GET reads it back', async () => {
    const key = indexPartUploadKey(OWNER, toIndexName('photos'), toVersionId('v1'), 'upload-1');
    const body = seededBytes(70_000, 3);
    const put = await store.presignPut(key, { expiresInSeconds: 300, contentType: 'application/octet-stream', contentLength: body.length });
    expect(put.method).toBe('PUT');
    expect(put.url).toContain('X-Amz-Signature=');
    // No checksum of an empty body may be baked into the URL (real S3 would reject the upload).
    expect(put.url).not.toContain('x-amz-checksum');
    expect(new URL(put.url).searchParams.get('X-Amz-SignedHeaders')).toContain('content-type');
    expect(put.expiresAt.getTime()).toBeGreaterThan(Date.now());
    const uploaded = await fetch(put.url, { method: 'PUT', body, headers: put.headers });
    expect(uploaded.status).toBe(200);
    expect(sameBytes(await store.get(key), body)).toBe(true);

    const get = await store.presignGet(key, { expiresInSeconds: 60 });
    const downloaded = await fetch(get.url);
    expect(downloaded.status).toBe(200);
    expect(sameBytes(new Uint8Array(await downloaded.arrayBuffer()), body)).toBe(true);
  });

  it('a presigned ranged GET signs its Range header and reads exactly that range', async () => {
    const key = indexPartUploadKey(OWNER, toIndexName('photos'), toVersionId('v1'), 'upload-ranged');
    const body = seededBytes(10_000, 5);
    await store.put(key, body);
    const get = await store.presignGet(key, { expiresInSeconds: 60, range: { start: 1000, endExclusive: 1600 } });
    expect(get.headers).toEqual({ range: 'bytes=1000-1599' });
    expect(new URL(get.url).searchParams.get('X-Amz-SignedHeaders')).toContain('range');
    const downloaded = await fetch(get.url, { headers: get.headers });
    expect(downloaded.status).toBe(206);
    expect(sameBytes(new Uint8Array(await downloaded.arrayBuffer()), body.subarray(1000, 1600))).toBe(true);
    await expect(store.presignGet(key, { expiresInSeconds: 60, range: { start: 5, endExclusive: 5 } })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('refuses bad presign parameters', async () => {
    const key = indexPartUploadKey(OWNER, toIndexName('photos'), toVersionId('v1'), 'upload-2');
    await expect(store.presignPut(key, { expiresInSeconds: 0, contentType: 'application/octet-stream' })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(store.presignGet(key, { expiresInSeconds: 8 * 24 * 3600 })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(store.presignPut(key, { expiresInSeconds: 60, contentType: 'text/plain\r\nx-evil: 1' })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
  });

  it('refuses keys that could escape a prefix before any request is made', async () => {
    for (const key of ['', '/owners/x', 'owners/../x', 'owners//x', 'owners/x/', 'a\\b', 'a\nb', 'x'.repeat(1025)]) {
      await expect(store.get(key), key).rejects.toBeInstanceOf(InvalidInputError);
      await expect(store.put(key, new Uint8Array(1)), key).rejects.toBeInstanceOf(InvalidInputError);
    }
  });
});
