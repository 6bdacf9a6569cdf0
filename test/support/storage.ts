/**
 * Storage helpers for the tests: an index version's key prefix and an ownership check the tests
 * compare the service's keys with, and a whole-object digest check.
 */
import { createHash } from 'node:crypto';
import { IntegrityError } from '../../lib/core/errors';
import type { IndexName, OwnerId, VersionId } from '../../lib/core/ids';
import { assertObjectKey, ownerPrefix } from '../../lib/storage/object-keys';
import type { PartDigest } from '../../lib/service/versions/part-digests';

/** The prefix of all S3 parts of one index version (for cleanup). */
export function indexVersionPrefix(ownerId: OwnerId, indexName: IndexName, version: VersionId): string {
  return `${ownerPrefix(ownerId)}indexes/${indexName}/${version}/`;
}

/** True if `key` lies inside the owner's prefix (for keys read back from requests or metadata). */
export function isOwnedKey(ownerId: OwnerId, key: string): boolean {
  try {
    assertObjectKey(key);
  } catch {
    return false;
  }
  return key.startsWith(ownerPrefix(ownerId));
}

/** Checks a whole object against its digest. */
export function checkWhole(digest: PartDigest, bytes: Uint8Array, what: string): void {
  if (bytes.length !== digest.bytes || createHash('sha256').update(bytes).digest('hex') !== digest.sha256) {
    throw new IntegrityError(`${what} does not match the SHA-256 fixed at publish (it was changed after publishing): the owner must publish the index again`);
  }
}
