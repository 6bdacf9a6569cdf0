/**
 * Digests of the S3 objects of an index version, fixed when the version is staged and checked
 * on every read: the SHA-256 of each whole object and of each CHUNK_BYTES chunk of it, so a
 * byte-range read (an SEI leaf, a two-server record) is checked by hashing only the chunks it
 * touches. The table is a catalog blob of the version (DynamoDB), never an S3 object, so no
 * presigned URL and no S3 write can change it.
 */
import { createHash } from 'node:crypto';
import { IntegrityError, MalformedDataError } from '../../core/errors';

/**
 * Chunk size of the per-chunk digests: a range read is widened to whole chunks (at most 2
 * chunks more than asked), and a version's table holds 32 bytes per chunk (4 MiB for 2 GiB).
 */
export const CHUNK_BYTES = 16 * 1024;
/** Catalog blob of the table (no kind's blob may use the name). */
export const PART_DIGESTS_BLOB = 'part-digests';
/** Objects are hashed at staging in reads of this size, one at a time. */
const DIGEST_READ_BYTES = 8 * 1024 * 1024;
const SHA256_BYTES = 32;

export interface PartDigest {
  readonly bytes: number;
  /** Hex SHA-256 of the whole object. */
  readonly sha256: string;
  /** SHA-256 of chunk i at [32 i, 32 i + 32). */
  readonly chunks: Uint8Array;
}

/** Object name (part or derived object of the version) -> digest. */
export type PartDigests = ReadonlyMap<string, PartDigest>;

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** The digest of bytes held in memory. */
export function digestBytes(bytes: Uint8Array): PartDigest {
  const count = Math.ceil(bytes.length / CHUNK_BYTES);
  const chunks = new Uint8Array(count * SHA256_BYTES);
  for (let i = 0; i < count; i++) chunks.set(sha256(bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)), i * SHA256_BYTES);
  return { bytes: bytes.length, sha256: sha256(bytes).toString('hex'), chunks };
}

/** The digest of an object read by ranges (never more than DIGEST_READ_BYTES in memory). */
export async function digestObject(size: number, readRange: (start: number, end: number) => Promise<Uint8Array>): Promise<PartDigest> {
  const whole = createHash('sha256');
  const count = Math.ceil(size / CHUNK_BYTES);
  const chunks = new Uint8Array(count * SHA256_BYTES);
  const step = DIGEST_READ_BYTES - (DIGEST_READ_BYTES % CHUNK_BYTES);
  for (let start = 0; start < size; start += step) {
    const end = Math.min(size, start + step);
    const bytes = await readRange(start, end);
    if (bytes.length !== end - start) throw new MalformedDataError('an index object', `range [${start}, ${end}) returned ${bytes.length} bytes`);
    whole.update(bytes);
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
      chunks.set(sha256(bytes.subarray(at, at + CHUNK_BYTES)), ((start + at) / CHUNK_BYTES) * SHA256_BYTES);
    }
  }
  return { bytes: size, sha256: whole.digest('hex'), chunks };
}

/** The chunk-aligned range that covers [start, end) of an object of `size` bytes. */
export function chunkAligned(size: number, start: number, end: number): { start: number; end: number } {
  return { start: Math.floor(start / CHUNK_BYTES) * CHUNK_BYTES, end: Math.min(size, Math.ceil(end / CHUNK_BYTES) * CHUNK_BYTES) };
}

/**
 * Checks chunk-aligned bytes read from `alignedStart` against the digest; IntegrityError naming
 * the object (`what`) and the altered bytes otherwise.
 */
export function checkChunks(digest: PartDigest, alignedStart: number, bytes: Uint8Array, what: string): void {
  if (alignedStart % CHUNK_BYTES !== 0) throw new Error(`chunk checks start at a chunk boundary, not at ${alignedStart}`);
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
    const chunk = (alignedStart + at) / CHUNK_BYTES;
    // A chunk cut short (a shortened object) hashes differently and is refused with the rest.
    const actual = sha256(bytes.subarray(at, at + CHUNK_BYTES));
    const expected = digest.chunks.subarray(chunk * SHA256_BYTES, (chunk + 1) * SHA256_BYTES);
    if (expected.length !== SHA256_BYTES || !actual.equals(expected)) {
      const first = alignedStart + at;
      throw new IntegrityError(
        `${what}: bytes ${first}-${Math.min(digest.bytes, first + CHUNK_BYTES) - 1} do not match the digest fixed at publish ` +
          '(the stored object was changed after publishing): no result is computed from it; the owner must publish the index again',
      );
    }
  }
}

/**
 * Reads bytes [start, end) of an object through chunk-aligned reads and returns them only if
 * every chunk read matches its digest.
 */
export async function verifiedRange(
  digest: PartDigest,
  readRange: (start: number, end: number) => Promise<Uint8Array>,
  start: number,
  end: number,
  what: string,
): Promise<Uint8Array> {
  if (end > digest.bytes) throw new IntegrityError(`${what}: bytes up to ${end} were asked for, but it was published with ${digest.bytes}`);
  const aligned = chunkAligned(digest.bytes, start, end);
  const bytes = await readRange(aligned.start, aligned.end);
  if (bytes.length !== aligned.end - aligned.start) {
    throw new IntegrityError(`${what} is no longer ${digest.bytes} bytes long as it was when published: the owner must publish the index again`);
  }
  checkChunks(digest, aligned.start, bytes, what);
  return bytes.subarray(start - aligned.start, end - aligned.start);
}

// ---------------------------------------------------------------------------------------------
// The catalog blob: JSON { "<name>": { bytes, sha256, chunks: base64 } }

export function encodePartDigests(digests: PartDigests): Uint8Array {
  const json: Record<string, { bytes: number; sha256: string; chunks: string }> = {};
  for (const [name, digest] of digests) json[name] = { bytes: digest.bytes, sha256: digest.sha256, chunks: Buffer.from(digest.chunks).toString('base64') };
  return new TextEncoder().encode(JSON.stringify(json));
}

export function decodePartDigests(bytes: Uint8Array): PartDigests {
  const what = 'the part digests of an index version';
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new MalformedDataError(what, 'are not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new MalformedDataError(what, 'are not an object');
  const digests = new Map<string, PartDigest>();
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    const entry = value as { bytes?: unknown; sha256?: unknown; chunks?: unknown };
    if (!Number.isSafeInteger(entry?.bytes) || typeof entry.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(entry.sha256) || typeof entry.chunks !== 'string') {
      throw new MalformedDataError(what, `entry "${name.slice(0, 64)}" is malformed`);
    }
    const chunks = new Uint8Array(Buffer.from(entry.chunks, 'base64'));
    if (chunks.length !== Math.ceil((entry.bytes as number) / CHUNK_BYTES) * SHA256_BYTES) throw new MalformedDataError(what, `entry "${name.slice(0, 64)}" has the wrong number of chunk digests`);
    digests.set(name, { bytes: entry.bytes as number, sha256: entry.sha256, chunks });
  }
  return digests;
}
