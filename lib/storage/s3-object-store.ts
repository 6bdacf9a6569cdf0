/**
 * ObjectStore on S3 (or any S3-compatible endpoint: s3rver, LocalStack). Range reads let the
 * search handler fetch single SEI leaf blocks; presigned URLs let clients move large bodies
 * past Lambda's 6 MB payload limit without AWS credentials.
 */
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { InvalidInputError, MalformedDataError, NotFoundError } from '../core/errors';
import { assertObjectKey } from './object-keys';
import type { ListedObject, ObjectHead, ObjectStore, PresignedRequest, PresignGetOptions, PresignPutOptions } from './types';

/** SigV4 presigned URLs live at most 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 60 * 60;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export interface S3ObjectStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata?.httpStatusCode === 404;
}

/** First byte of a `Content-Range: bytes a-b/size` answer; 0 when the whole object came back. */
function rangeStartOf(contentRange: string | undefined): number {
  if (contentRange === undefined) return 0;
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(contentRange.trim());
  return match === null ? Number.NaN : Number(match[1]);
}

function assertExpiry(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
    throw new InvalidInputError(`expiresInSeconds must be an integer in [1, ${MAX_PRESIGN_SECONDS}]`);
  }
}

function assertContentType(contentType: string): void {
  // A media type token pair with optional parameters; no line breaks (it becomes a header).
  if (!/^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+"-]+)*$/.test(contentType) || contentType.length > 200) {
    throw new InvalidInputError('contentType must be a media type such as "application/octet-stream"');
  }
}

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(options: S3ObjectStoreOptions) {
    if (!options.bucket) throw new InvalidInputError('S3ObjectStore needs a bucket name');
    this.client = options.client;
    this.bucket = options.bucket;
  }

  async put(key: string, bytes: Uint8Array, contentType = DEFAULT_CONTENT_TYPE): Promise<void> {
    assertObjectKey(key);
    assertContentType(contentType);
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: contentType, ContentLength: bytes.length }),
    );
  }

  async get(key: string): Promise<Uint8Array> {
    assertObjectKey(key);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (response.Body === undefined) throw new MalformedDataError(`object ${key}`, 'S3 returned no body');
      return await response.Body.transformToByteArray();
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(`object ${key} does not exist`);
      throw error;
    }
  }

  async getRange(key: string, start: number, endExclusive: number): Promise<Uint8Array> {
    assertObjectKey(key);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endExclusive) || start < 0 || endExclusive <= start) {
      throw new InvalidInputError(`byte range [${start}, ${endExclusive}) must satisfy 0 <= start < end`);
    }
    let bytes: Uint8Array;
    let offset: number;
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${endExclusive - 1}` }),
      );
      if (response.Body === undefined) throw new MalformedDataError(`object ${key}`, 'S3 returned no body');
      bytes = await response.Body.transformToByteArray();
      offset = rangeStartOf(response.ContentRange);
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(`object ${key} does not exist`);
      if (error instanceof S3ServiceException && (error.name === 'InvalidRange' || error.$metadata?.httpStatusCode === 416)) {
        throw new MalformedDataError(`object ${key}`, `byte range [${start}, ${endExclusive}) starts beyond its end`);
      }
      throw error;
    }
    // HTTP lets a server send more than the range (the whole object with 200, as some emulators
    // do for "bytes=0-0"): take the requested part of what came back.
    if (offset <= start && offset + bytes.length >= endExclusive) {
      return offset === start && bytes.length === endExclusive - start ? bytes : bytes.slice(start - offset, endExclusive - offset);
    }
    // S3 shortens a range that runs past the end; the caller's offsets came from stored
    // metadata, so a short read means that metadata and object disagree.
    throw new MalformedDataError(`object ${key}`, `range [${start}, ${endExclusive}) returned only ${bytes.length} bytes`);
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    assertObjectKey(key);
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: response.ContentLength ?? 0, contentType: response.ContentType, etag: response.ETag };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    assertObjectKey(fromKey);
    assertObjectKey(toKey);
    try {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: toKey, CopySource: `${this.bucket}/${encodeURI(fromKey)}` }));
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(`object ${fromKey} does not exist`);
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) yield { key: object.Key, size: object.Size ?? 0, ...(object.LastModified !== undefined ? { lastModified: object.LastModified } : {}) };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    assertObjectKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async presignPut(key: string, options: PresignPutOptions): Promise<PresignedRequest> {
    assertObjectKey(key);
    assertExpiry(options.expiresInSeconds);
    assertContentType(options.contentType);
    const { contentLength } = options;
    if (contentLength !== undefined && (!Number.isSafeInteger(contentLength) || contentLength < 0)) {
      throw new InvalidInputError('contentLength must be a non-negative integer');
    }
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ContentType: options.contentType,
      ContentLength: contentLength,
    });
    const expiresAt = new Date(Date.now() + options.expiresInSeconds * 1000);
    const url = await getSignedUrl(this.client, command, {
      expiresIn: options.expiresInSeconds,
      // Sign the type (and length, when known) so the URL uploads nothing else.
      signableHeaders: new Set(['content-type']),
    });
    const headers: Record<string, string> = { 'content-type': options.contentType };
    if (contentLength !== undefined) headers['content-length'] = String(contentLength);
    return { url, method: 'PUT', headers, expiresAt };
  }

  async presignGet(key: string, options: PresignGetOptions): Promise<PresignedRequest> {
    assertObjectKey(key);
    assertExpiry(options.expiresInSeconds);
    let range: string | undefined;
    if (options.range !== undefined) {
      const { start, endExclusive } = options.range;
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endExclusive) || start < 0 || endExclusive <= start) {
        throw new InvalidInputError('a presigned range must have 0 <= start < endExclusive');
      }
      range = `bytes=${start}-${endExclusive - 1}`;
    }
    const expiresAt = new Date(Date.now() + options.expiresInSeconds * 1000);
    const url = await getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range }), {
      expiresIn: options.expiresInSeconds,
      // A ranged URL reads exactly that range: the header is signed, the client must send it.
      ...(range !== undefined ? { signableHeaders: new Set(['range']) } : {}),
    });
    return { url, method: 'GET', headers: range !== undefined ? { range } : {}, expiresAt };
  }
}
