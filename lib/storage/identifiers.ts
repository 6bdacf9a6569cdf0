/**
 * Validation of every name that becomes part of a storage key (S3 object key, DynamoDB pk/sk,
 * secret name, file name). Names come from URLs and tokens, so each is checked against a
 * strict allow-list before any key is built: no '/', no '#' (the DynamoDB key separator), no
 * '..', no leading dot, bounded length. With the owner id taken from a verified token, an owner
 * can therefore never address another owner's prefix.
 */
import { InvalidInputError } from '../core/errors';

export { assertOwnerId } from '../auth/owner-id';

/** Letters, digits, '.', '_', '-'; starts with a letter or digit; no '..'. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** User ids may also hold '@' (e-mail-like ids). */
const USER_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

function describe(value: unknown): string {
  if (typeof value !== 'string') return `a ${value === null ? 'null' : typeof value}`;
  const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return JSON.stringify(shown);
}

function assertName(value: unknown, field: string, maxLength: number, pattern = NAME, extra = ''): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength || !pattern.test(value) || value.includes('..')) {
    throw new InvalidInputError(
      `${field} ${describe(value)} is invalid: use 1-${maxLength} characters from A-Z a-z 0-9 . _ -${extra}, ` +
        `starting with a letter or digit, without '..'`,
    );
  }
}

export const MAX_INDEX_NAME_LENGTH = 64;
export const MAX_VERSION_LENGTH = 64;
export const MAX_IMAGE_ID_LENGTH = 128;
export const MAX_USER_ID_LENGTH = 128;
export const MAX_BLOB_NAME_LENGTH = 64;
export const MAX_KEY_ID_LENGTH = 128;
export const MAX_UPLOAD_ID_LENGTH = 64;

export function assertIndexName(value: unknown): asserts value is string {
  assertName(value, 'index name', MAX_INDEX_NAME_LENGTH);
}

export function assertVersionName(value: unknown): asserts value is string {
  assertName(value, 'index version', MAX_VERSION_LENGTH);
}

export function assertImageId(value: unknown): asserts value is string {
  assertName(value, 'image id', MAX_IMAGE_ID_LENGTH);
}

export function assertUserId(value: unknown): asserts value is string {
  assertName(value, 'user id', MAX_USER_ID_LENGTH, USER_ID, ' @');
}

/** Names of binary blobs inside an index version (e.g. "skeleton", "segments"). */
export function assertBlobName(value: unknown): asserts value is string {
  assertName(value, 'blob name', MAX_BLOB_NAME_LENGTH);
}

/** Ids of CS2 secret keys (Secrets Manager name suffix, or file name). */
export function assertKeyId(value: unknown): asserts value is string {
  assertName(value, 'key id', MAX_KEY_ID_LENGTH);
}

/** Ids of pending uploads (random, chosen by CS1). */
export function assertUploadId(value: unknown): asserts value is string {
  assertName(value, 'upload id', MAX_UPLOAD_ID_LENGTH);
}
