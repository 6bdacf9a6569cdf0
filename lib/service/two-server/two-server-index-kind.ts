/**
 * The two-server kind of index (parts: metadata.ts). Publishing checks the parts completely
 * (./two-server-index-validator, which loads the HE layer); GET index describes them from the
 * catalog metadata (./two-server-index-summary).
 */
import type { IndexKindSpec } from '../types';
import { MAX_SHARDS, TWO_SERVER_EVALUATION_PART, TWO_SERVER_INDEX_PART, TWO_SERVER_PUBLIC_PART, TWO_SERVER_RECORDS_PART_PATTERN } from './metadata';

/** A single presigned PUT uploads at most 5 GB (S3's limit): the bound of one shard. */
export const MAX_RECORDS_BYTES = 5 * 1024 * 1024 * 1024;
/** Catalog blobs are at most 32 MiB. */
export const MAX_CS1_INDEX_BYTES = 32 * 1024 * 1024;
export const MAX_EVALUATION_BYTES = 32 * 1024 * 1024;
export const MAX_PUBLIC_BYTES = 64 * 1024 * 1024;

export const twoServerIndexKind: IndexKindSpec = {
  kind: 'two-server',
  parts: [
    {
      name: 'records-NNNN',
      pattern: TWO_SERVER_RECORDS_PART_PATTERN,
      maxCount: MAX_SHARDS,
      optional: true,
      maxBytes: MAX_RECORDS_BYTES,
      description: "a shard's encrypted templates in storage order (ProviderOutput.shards[NNNN]); only the shards this version uploads",
    },
    { name: TWO_SERVER_INDEX_PART, maxBytes: MAX_CS1_INDEX_BYTES, description: "CS1's index: encodeCs1Index(ProviderOutput.cs1Index)" },
    { name: TWO_SERVER_EVALUATION_PART, maxBytes: MAX_EVALUATION_BYTES, description: 'the HE evaluation material for CS1 (ProviderOutput.evaluationMaterial)' },
    { name: TWO_SERVER_PUBLIC_PART, maxBytes: MAX_PUBLIC_BYTES, description: 'the HE public material clients encrypt queries with (ProviderOutput.publicMaterial)' },
  ],
};
