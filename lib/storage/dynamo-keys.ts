/**
 * Keys of the single DynamoDB table (partition key `pk`, sort key `sk`, both strings); the
 * full item layout is in README-layout.md. Components are parsed names (lib/core/ids.ts) that cannot hold
 * '#', so every prefix below is unambiguous and one owner's keys never reach another's.
 */
import { parseBlobName } from '../core/ids';
import type { IndexName, OwnerId, UserId, VersionId } from '../core/ids';

// A type alias (not an interface) so it is assignable to the SDK's Record<string, unknown> keys.
export type ItemKey = { readonly pk: string; readonly sk: string };

export const OWNER_PROFILE_SK = 'PROFILE';
export const USER_SK_PREFIX = 'USER#';
export const CURRENT_SK = 'CURRENT';
export const VERSION_SK_PREFIX = 'VERSION#';
export const CHUNK_SK_PREFIX = 'CHUNK#';
export const PUBLISH_JOB_SK_PREFIX = 'PUBLISH#';
/** Chunk numbers are zero-padded so chunks sort in order. */
const CHUNK_DIGITS = 6;
export const MAX_CHUNKS_PER_BLOB = 10 ** CHUNK_DIGITS - 1;

function ownerPk(ownerId: OwnerId): string {
  return `OWNER#${ownerId}`;
}

export function ownerKey(ownerId: OwnerId): ItemKey {
  return { pk: ownerPk(ownerId), sk: OWNER_PROFILE_SK };
}

export function userKey(ownerId: OwnerId, userId: UserId): ItemKey {
  return { pk: ownerPk(ownerId), sk: `${USER_SK_PREFIX}${userId}` };
}

/**
 * A user's identification counter on one index for one window: its own partition per user
 * (counters are written on every query; one hot owner partition would throttle all of them).
 */
export function queryBudgetKey(ownerId: OwnerId, userId: UserId, indexName: IndexName, windowStart: number): ItemKey {
  if (!Number.isSafeInteger(windowStart) || windowStart < 0) throw new RangeError(`window start ${windowStart} out of range`);
  return { pk: `BUDGET#${ownerId}#${userId}`, sk: `INDEX#${indexName}#${windowStart}` };
}

/** Attribute the table's time-to-live reads (epoch seconds): expired counters are removed by DynamoDB. */
export const TABLE_TTL_ATTRIBUTE = 'expiresAt';

export function indexPk(ownerId: OwnerId, indexName: IndexName): string {
  return `INDEX#${ownerId}#${indexName}`;
}

export function currentPointerKey(ownerId: OwnerId, indexName: IndexName): ItemKey {
  return { pk: indexPk(ownerId, indexName), sk: CURRENT_SK };
}

export function versionKey(ownerId: OwnerId, indexName: IndexName, version: VersionId): ItemKey {
  return { pk: indexPk(ownerId, indexName), sk: `${VERSION_SK_PREFIX}${version}` };
}

/** The publish job of one version (one item per version: a new job replaces the last). */
export function publishJobKey(ownerId: OwnerId, indexName: IndexName, version: VersionId): ItemKey {
  return { pk: indexPk(ownerId, indexName), sk: `${PUBLISH_JOB_SK_PREFIX}${version}` };
}

/** Sort-key prefix of all chunks of one version (all blobs). */
export function versionChunksPrefix(version: VersionId): string {
  return `${CHUNK_SK_PREFIX}${version}#`;
}

export function chunkKey(ownerId: OwnerId, indexName: IndexName, version: VersionId, blobName: string, chunk: number): ItemKey {
  parseBlobName(blobName);
  if (!Number.isInteger(chunk) || chunk < 0 || chunk > MAX_CHUNKS_PER_BLOB) throw new RangeError(`chunk number ${chunk} out of range`);
  return { pk: indexPk(ownerId, indexName), sk: `${versionChunksPrefix(version)}${blobName}#${String(chunk).padStart(CHUNK_DIGITS, '0')}` };
}

/** Key schema of the table (the CDK stack and the local provisioning use the same names). */
export const TABLE_PARTITION_KEY = 'pk';
export const TABLE_SORT_KEY = 'sk';
