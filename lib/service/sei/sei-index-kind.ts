/**
 * The SEI kind of index: the owner uploads the encrypted index tree in two parts (the format of
 * lib/sei/index-tree/format.ts), the skeleton and the concatenated leaf blocks. Publishing
 * checks them completely (./sei-index-validator); GET index describes them
 * (./sei-index-summary).
 */
import type { IndexKindSpec } from '../types';

export const SEI_SKELETON_PART = 'skeleton';
export const SEI_LEAVES_PART = 'leaves';
/** Derived object written at publish: all image-directory shards, back to back. */
export const SEI_DIRECTORY_OBJECT = 'image-directory';
/** The catalog keeps blobs of at most 32 MiB (DynamoDB chunks). */
export const MAX_SEI_SKELETON_BYTES = 32 * 1024 * 1024;
/** Publishing reads every leaf once; beyond this the 29 s function deadline is at risk. */
export const MAX_SEI_LEAVES_BYTES = 2 * 1024 * 1024 * 1024;

export const seiIndexKind: IndexKindSpec = {
  kind: 'sei',
  parts: [
    {
      name: SEI_SKELETON_PART,
      maxBytes: MAX_SEI_SKELETON_BYTES,
      description: 'the encrypted index tree skeleton (encodeIndexTreeParts(tree).skeleton)',
    },
    {
      name: SEI_LEAVES_PART,
      maxBytes: MAX_SEI_LEAVES_BYTES,
      description: 'all leaf blocks in leaf order, back to back (encodeIndexTreeParts(tree).leaves concatenated)',
    },
  ],
};
