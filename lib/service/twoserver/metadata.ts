/**
 * The catalog entry of a published two-server index version.
 *
 * Parts the owner uploads (presigned PUTs, then publish):
 *   records     the encrypted templates in storage order, fixed-size records (ProviderOutput.records)
 *   cs1-index   encodeCs1Index(ProviderOutput.cs1Index): iDistance metadata, segments, encrypted
 *               reference points, template ids
 *   evaluation  the HE evaluation material for CS1 (never the secret)
 *   public      the HE public material clients encrypt their queries with
 *
 * What the catalog keeps: blobs `cs1-index` and `evaluation` (small; every read is checked
 * against their SHA-256) and the metadata below. `records` stays in S3, read by byte range;
 * `public` stays in S3, handed to clients as a presigned GET (with its size and SHA-256, so a
 * client can check what it downloaded).
 */
import { BlindsightError } from '../../core/errors';
import type { HeBackendName } from '../../he/types';
import type { JsonObject } from '../../storage/types';
import type { PartRef } from '../cs1/types';

export const TWO_SERVER_RECORDS_PART = 'records';
export const TWO_SERVER_INDEX_PART = 'cs1-index';
export const TWO_SERVER_EVALUATION_PART = 'evaluation';
export const TWO_SERVER_PUBLIC_PART = 'public';

/** Catalog blob names (the same bytes as the uploaded parts). */
export const CS1_INDEX_BLOB = 'cs1-index';
export const EVALUATION_BLOB = 'evaluation';

export interface TwoServerMetadata {
  readonly backend: HeBackendName;
  readonly keyId: string;
  readonly d: number;
  readonly maxAbs: number;
  readonly vectorsPerRecord: number;
  readonly recordBytes: number;
  /** Exact byte length of an encrypted query. */
  readonly queryBytes: number;
  readonly dist2Max: number;
  readonly templateCount: number;
  readonly partitions: number;
  readonly records: { readonly ref: PartRef; readonly bytes: number };
  readonly publicMaterial: { readonly ref: PartRef; readonly bytes: number; readonly sha256: string };
  readonly publishedFrom: string;
}

export function twoServerMetadataToJson(metadata: TwoServerMetadata): JsonObject {
  return {
    backend: metadata.backend,
    keyId: metadata.keyId,
    d: metadata.d,
    maxAbs: metadata.maxAbs,
    vectorsPerRecord: metadata.vectorsPerRecord,
    recordBytes: metadata.recordBytes,
    queryBytes: metadata.queryBytes,
    dist2Max: metadata.dist2Max,
    templateCount: metadata.templateCount,
    partitions: metadata.partitions,
    records: { ref: { ...metadata.records.ref }, bytes: metadata.records.bytes },
    publicMaterial: { ref: { ...metadata.publicMaterial.ref }, bytes: metadata.publicMaterial.bytes, sha256: metadata.publicMaterial.sha256 },
    publishedFrom: metadata.publishedFrom,
  };
}

function fail(problem: string): never {
  throw new BlindsightError('INTERNAL', `stored two-server index metadata is invalid: ${problem}`);
}

function count(json: JsonObject, key: string, min = 0): number {
  const value = json[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) fail(`${key} must be an integer >= ${min}`);
  return value;
}

function text(json: JsonObject, key: string, pattern: RegExp): string {
  const value = json[key];
  if (typeof value !== 'string' || !pattern.test(value)) fail(`${key} is missing or malformed`);
  return value;
}

function object(json: JsonObject, key: string): JsonObject {
  const value = json[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${key} must be an object`);
  return value as JsonObject;
}

function partRef(json: JsonObject): PartRef {
  return { version: text(json, 'version', /^[A-Za-z0-9][A-Za-z0-9._-]*$/), part: text(json, 'part', /^[A-Za-z0-9][A-Za-z0-9._-]*$/) };
}

/** Reads metadata written by twoServerMetadataToJson (stored data: a mismatch is a server fault). */
export function parseTwoServerMetadata(json: JsonObject): TwoServerMetadata {
  const backend = text(json, 'backend', /^(she|bfv)$/) as HeBackendName;
  const records = object(json, 'records');
  const publicMaterial = object(json, 'publicMaterial');
  return {
    backend,
    keyId: text(json, 'keyId', /^[0-9a-f]{16}$/),
    d: count(json, 'd', 1),
    maxAbs: count(json, 'maxAbs', 1),
    vectorsPerRecord: count(json, 'vectorsPerRecord', 1),
    recordBytes: count(json, 'recordBytes', 1),
    queryBytes: count(json, 'queryBytes', 1),
    dist2Max: count(json, 'dist2Max', 1),
    templateCount: count(json, 'templateCount', 1),
    partitions: count(json, 'partitions', 1),
    records: { ref: partRef(object(records, 'ref')), bytes: count(records, 'bytes', 1) },
    publicMaterial: {
      ref: partRef(object(publicMaterial, 'ref')),
      bytes: count(publicMaterial, 'bytes', 1),
      sha256: text(publicMaterial, 'sha256', /^[0-9a-f]{64}$/),
    },
    publishedFrom: text(json, 'publishedFrom', /^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  };
}
