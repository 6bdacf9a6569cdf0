/**
 * The sealed kind of index (lib/sealed): two parts the owner sealed under its index key, the
 * routing data (after a public header) and the leaves, all of one size. CS1 cannot decrypt
 * either: publishing checks what it can read (./sealed-index-validator); GET index describes the
 * layout and where the routing part is (./sealed-index-summary).
 */
import type { IndexKindSpec } from '../types';

export const SEALED_ROUTING_PART = 'routing';
export const SEALED_LEAVES_PART = 'leaves';
/** Centroids of a million-image index take a few MB; this leaves room for much more. */
export const MAX_SEALED_ROUTING_BYTES = 256 * 1024 * 1024;
/** A single presigned PUT uploads at most 5 GB (S3's limit). */
export const MAX_SEALED_LEAVES_BYTES = 5 * 1024 * 1024 * 1024;

export const sealedIndexKind: IndexKindSpec = {
  kind: 'sealed',
  parts: [
    { name: SEALED_ROUTING_PART, maxBytes: MAX_SEALED_ROUTING_BYTES, description: 'the public header and the sealed routing data (sealIndex(...).routing)' },
    { name: SEALED_LEAVES_PART, maxBytes: MAX_SEALED_LEAVES_BYTES, description: 'every sealed leaf, back to back, all of one size (sealIndex(...).leaves)' },
  ],
};
