/**
 * Checks of the ids that become part of storage keys, for the layers that still take plain
 * strings. The ids, their rules and messages live in lib/core/ids.ts (branded types, parsed where
 * input enters); these assertions are what remains of the old checks until every inner layer takes
 * the branded types.
 */
import { parseBlobName, parseImageId, parseIndexName, parseKeyId, parseOwnerId, parseUploadId, parseUserId, parseVersionId } from '../core/ids';

export function assertOwnerId(value: unknown): asserts value is string {
  parseOwnerId(value);
}

export function assertIndexName(value: unknown): asserts value is string {
  parseIndexName(value);
}

export function assertVersionName(value: unknown): asserts value is string {
  parseVersionId(value);
}

export function assertImageId(value: unknown): asserts value is string {
  parseImageId(value);
}

export function assertUserId(value: unknown): asserts value is string {
  parseUserId(value);
}

/** Names of binary blobs inside an index version (e.g. "skeleton", "segments"). */
export function assertBlobName(value: unknown): asserts value is string {
  parseBlobName(value);
}

/** Ids of CS2 secret keys (Secrets Manager name suffix, or file name). */
export function assertKeyId(value: unknown): asserts value is string {
  parseKeyId(value);
}

/** Ids of pending uploads (random, chosen by CS1). */
export function assertUploadId(value: unknown): asserts value is string {
  parseUploadId(value);
}
