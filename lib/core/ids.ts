/**
 * The ids the system passes around, as branded strings. Each is parsed once where it enters
 * (token verification, path parameters, request and event decoders, CLI arguments, decoders of
 * stored records); a layer that takes the branded type need not check again, and the compiler
 * refuses an image id where an index name is expected.
 *
 * Every id may become part of a storage key (S3 object key, DynamoDB pk/sk, secret name, file
 * name), so each is checked against a strict allow-list: no '/', no '#' (the DynamoDB key
 * separator), no '..', no leading dot, bounded length. With the owner id taken from a verified
 * token, an owner can therefore never address another owner's prefix.
 *
 * Blob names and key ids are parsed here too, but not branded: the builders of the
 * keys that hold them (lib/storage/object-keys.ts, dynamo-keys.ts, the secret stores) call their
 * parsers. test/unit/architecture/id-parsing.test.ts lists the modules that parse branded ids.
 */
import { InvalidInputError, MalformedDataError } from './errors';

declare const brand: unique symbol;
/** A string that passed the parser of kind K (the brand exists only for the compiler). */
type Id<K extends string> = string & { readonly [brand]: K };

/** The fingerprint of an owner's public signing key (lib/auth/owner-id.ts derives it). */
export type OwnerId = Id<'OwnerId'>;
/** A user in an owner's registry. */
export type UserId = Id<'UserId'>;
export type IndexName = Id<'IndexName'>;
/** One published (or pending) version of an index. */
export type VersionId = Id<'VersionId'>;
export type ImageId = Id<'ImageId'>;
/** A binary blob inside an index version (e.g. "skeleton", "segments", "leaves"). */
type BlobName = Id<'BlobName'>;
/** A CS2 secret key (Secrets Manager name suffix, or file name). */
type KeyId = Id<'KeyId'>;

/** 256 bits in 5-bit base32 digits. */
const OWNER_ID_LENGTH = 52;
const OWNER_ID_PATTERN = /^[a-z2-7]{52}$/;

export const MAX_INDEX_NAME_LENGTH = 64;
export const MAX_VERSION_LENGTH = 64;
export const MAX_IMAGE_ID_LENGTH = 128;
const MAX_USER_ID_LENGTH = 128;
export const MAX_BLOB_NAME_LENGTH = 64;
const MAX_KEY_ID_LENGTH = 128;

/** Letters, digits, '.', '_', '-'; starts with a letter or digit; no '..'. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** User ids may also hold '@' (e-mail-like ids). */
const USER_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

function describe(value: unknown): string {
  if (typeof value !== 'string') return `a ${value === null ? 'null' : typeof value}`;
  const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return JSON.stringify(shown);
}

function parseName<K extends string>(value: unknown, field: string, maxLength: number, pattern = NAME, extra = ''): Id<K> {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength || !pattern.test(value) || value.includes('..')) {
    throw new InvalidInputError(
      `${field} ${describe(value)} is invalid: use 1-${maxLength} characters from A-Z a-z 0-9 . _ -${extra}, ` +
        `starting with a letter or digit, without '..'`,
    );
  }
  return value as Id<K>;
}

export function isOwnerId(value: unknown): value is OwnerId {
  return typeof value === 'string' && OWNER_ID_PATTERN.test(value);
}

/** `field` names the id in the message (e.g. "target owner id"). */
export function parseOwnerId(value: unknown, field = 'owner id'): OwnerId {
  if (!isOwnerId(value)) {
    throw new InvalidInputError(
      `${field} must be the ${OWNER_ID_LENGTH}-character fingerprint of the owner's public key ` +
        `(lowercase base32 a-z, 2-7), as returned when the owner registered`,
    );
  }
  return value;
}

export function parseUserId(value: unknown): UserId {
  return parseName(value, 'user id', MAX_USER_ID_LENGTH, USER_ID, ' @');
}

export function parseIndexName(value: unknown): IndexName {
  return parseName(value, 'index name', MAX_INDEX_NAME_LENGTH);
}

export function parseVersionId(value: unknown): VersionId {
  return parseName(value, 'index version', MAX_VERSION_LENGTH);
}

export function parseImageId(value: unknown): ImageId {
  return parseName(value, 'image id', MAX_IMAGE_ID_LENGTH);
}

export function parseBlobName(value: unknown): BlobName {
  return parseName(value, 'blob name', MAX_BLOB_NAME_LENGTH);
}

export function parseKeyId(value: unknown): KeyId {
  return parseName(value, 'key id', MAX_KEY_ID_LENGTH);
}

/**
 * Parses an id read back from a stored record (DynamoDB item, S3 object, index metadata): the
 * one check such an id gets before the layers that take the branded type use it. A value that
 * fails is corrupt data (MalformedDataError naming `what`), not the caller's bad input.
 */
export function parseStoredId<T>(parse: (value: unknown) => T, value: unknown, what: string): T {
  try {
    return parse(value);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new MalformedDataError(what, error.message);
    throw error;
  }
}
