/**
 * S3 object keys. Everything an owner stores lives under `owners/<ownerId>/`, and every
 * component is a parsed name (branded ids of lib/core/ids.ts; part names are parsed here), so a key built here can only point into the owner's own prefix:
 *
 *   owners/<ownerId>/images/<imageId>                              encrypted image envelopes
 *   owners/<ownerId>/indexes/<indexName>/<version>/<part>          bulky index parts (e.g. SEI
 *                                                                  leaf blocks, read by range)
 *   owners/<ownerId>/indexes/<indexName>/uploads/<version>/<part>  where the owner PUTs a part
 *                                                                  before publish (copied into the
 *                                                                  version's prefix at publish, so
 *                                                                  upload URLs never reach what serves)
 *   owners/<ownerId>/indexes/<indexName>/cleanup-state.json        what the clean-up has seen of
 *                                                                  the index (written by it only)
 *   owners/<ownerId>/image-removals/<imageId>                      an owner's request to remove a
 *                                                                  deleted image's envelope (the
 *                                                                  clean-up removes it once no
 *                                                                  index version may list it)
 */
import { InvalidInputError } from '../core/errors';
import { parseBlobName } from '../core/ids';
import type { ImageId, IndexName, OwnerId, VersionId } from '../core/ids';

/** S3's own limit on key length (UTF-8 bytes). */
const MAX_KEY_BYTES = 1024;

/** The prefix that holds everything of one owner (ends with '/'). */
export function ownerPrefix(ownerId: OwnerId): string {
  return `owners/${ownerId}/`;
}

export function imageObjectKey(ownerId: OwnerId, imageId: ImageId): string {
  return `${ownerPrefix(ownerId)}images/${imageId}`;
}

/** An owner's pending request to remove an image's envelope (lib/service/images/image-removals.ts). */
export function imageRemovalKey(ownerId: OwnerId, imageId: ImageId): string {
  return `${imageRemovalsPrefix(ownerId)}${imageId}`;
}

/** The prefix of all of an owner's pending image removals (ends with '/'). */
export function imageRemovalsPrefix(ownerId: OwnerId): string {
  return `${ownerPrefix(ownerId)}image-removals/`;
}

/** A named part of an index version kept in S3 (e.g. "leaves"). */
export function indexPartObjectKey(ownerId: OwnerId, indexName: IndexName, version: VersionId, part: string): string {
  parseBlobName(part);
  return `${ownerPrefix(ownerId)}indexes/${indexName}/${version}/${part}`;
}

/**
 * Where the owner uploads a part of an unpublished version. Never read by searches: publish
 * copies it to indexPartObjectKey, which no presigned URL ever names.
 */
export function indexPartUploadKey(ownerId: OwnerId, indexName: IndexName, version: VersionId, part: string): string {
  parseBlobName(part);
  // "uploads" is never a version name, so this never lies inside a version's prefix.
  return `${ownerPrefix(ownerId)}indexes/${indexName}/uploads/${version}/${part}`;
}

/** The prefix of everything of all of an owner's indexes (ends with '/'). */
export function indexesPrefix(ownerId: OwnerId): string {
  return `${ownerPrefix(ownerId)}indexes/`;
}

/** The clean-up's record of one index (lib/service/versions/cleanup.ts), outside every version's prefix. */
export function indexCleanupStateKey(ownerId: OwnerId, indexName: IndexName): string {
  // Not a version name (those start with a time), so never inside a version's prefix.
  return `${ownerPrefix(ownerId)}indexes/${indexName}/cleanup-state.json`;
}

function hasControlOrBackslash(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c) return true;
  }
  return false;
}

/**
 * Checks a key before any S3 call (defence in depth for keys that did not come from the
 * builders above): relative, no empty or dot segments, no control characters, bounded.
 */
export function assertObjectKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidInputError('object key must be a non-empty string');
  const problem =
    new TextEncoder().encode(key).length > MAX_KEY_BYTES
      ? `is longer than ${MAX_KEY_BYTES} bytes`
      : key.startsWith('/')
        ? 'starts with "/"'
        : key.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')
          ? 'has an empty, "." or ".." segment'
          : hasControlOrBackslash(key)
            ? 'contains control characters or a backslash'
            : undefined;
  if (problem !== undefined) throw new InvalidInputError(`object key ${problem}: build keys with the helpers in object-keys`);
}
