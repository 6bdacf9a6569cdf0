/**
 * The catalog entry of a published two-server index version.
 *
 * Parts the owner uploads (presigned PUTs, then publish):
 *   records-NNNN  shard NNNN's encrypted templates in storage order, fixed-size records
 *                 (ProviderOutput.shards[NNNN]); only the shards this version changed: the
 *                 others are inherited from the earlier version that published them (the
 *                 cs1-index names it), copy-on-write
 *   cs1-index     encodeCs1Index(ProviderOutput.cs1Index): policy, iDistance metadata, segments,
 *                 encrypted reference points, shard table, template ids
 *   evaluation    the HE evaluation material for CS1 (never the secret)
 *   public        the HE public material clients encrypt their queries with
 *
 * What the catalog keeps: blobs `cs1-index` and `evaluation` (small; every read is checked
 * against their SHA-256) and the metadata below, which says where every shard's records live
 * (a part of this version or of an earlier one). Records stay in S3, read by byte range;
 * `public` stays in S3, handed to clients as a presigned GET (with its size and SHA-256, so a
 * client can check what it downloaded). Versions published before shards (one `records`
 * part) are read as one shard.
 */
import { BlindsightError } from '../../core/errors';
import type { HeBackendName } from '../../he/types';
import type { JsonObject } from '../../storage/types';
import type { PartRef } from '../types';
import { LEGACY_POLICY, validatePolicy } from '../../twoserver/policy';
import type { IdentificationPolicy } from '../../twoserver/policy';
import { parseStoredId, parseVersionId } from '../../core/ids';

export interface ShardLocation {
  readonly ref: PartRef;
  readonly bytes: number;
  readonly templates: number;
}

/** The part name of shard s. */
export function shardPartName(shard: number): string {
  if (!Number.isInteger(shard) || shard < 0 || shard >= MAX_SHARDS) throw new RangeError(`shard ${shard} is out of range`);
  return `${TWO_SERVER_RECORDS_PART_PREFIX}${String(shard).padStart(4, '0')}`;
}

/** Parts of shards: records-0000, records-0001, ... (the legacy single part was `records`). */
export const TWO_SERVER_RECORDS_PART_PREFIX = 'records-';
export const TWO_SERVER_RECORDS_PART_PATTERN = /^records-\d{4}$/;
/** At most 10,000 shards (4 digits). */
export const MAX_SHARDS = 10_000;
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
  /** Where each shard's records live, their size, and how many templates they hold. */
  readonly shards: readonly ShardLocation[];
  /** The owner's limits (also in the cs1-index blob; here for GET index and the workers). */
  readonly policy: IdentificationPolicy;
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
    shards: metadata.shards.map((shard) => ({ ref: { ...shard.ref }, bytes: shard.bytes, templates: shard.templates })),
    policy: {
      maxK: metadata.policy.maxK,
      maxTauSquared: metadata.policy.maxTauSquared,
      budget: { queries: metadata.policy.budget.queries, windowSeconds: metadata.policy.budget.windowSeconds },
    },
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
  const version = text(json, 'version', /^[A-Za-z0-9][A-Za-z0-9._-]*$/);
  return { version: parseStoredId(parseVersionId, version, 'stored two-server index metadata'), part: text(json, 'part', /^[A-Za-z0-9][A-Za-z0-9._-]*$/) };
}

function shardsOf(json: JsonObject, templateCount: number): ShardLocation[] {
  // Before shards: one `records` part holding every template.
  if (json.shards === undefined && typeof json.records === 'object' && json.records !== null) {
    const records = object(json, 'records');
    return [{ ref: partRef(object(records, 'ref')), bytes: count(records, 'bytes', 1), templates: templateCount }];
  }
  const list = json.shards;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_SHARDS) fail('shards must be a non-empty list');
  const shards = (list as JsonObject[]).map((entry) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail('a shard must be an object');
    return { ref: partRef(object(entry, 'ref')), bytes: count(entry, 'bytes', 1), templates: count(entry, 'templates', 1) };
  });
  if (shards.reduce((sum, shard) => sum + shard.templates, 0) !== templateCount) fail('the shards do not hold templateCount templates');
  return shards;
}

function policyOf(json: JsonObject): IdentificationPolicy {
  if (json.policy === undefined) return LEGACY_POLICY;
  const policy = object(json, 'policy');
  try {
    return validatePolicy({ maxK: policy.maxK, maxTauSquared: policy.maxTauSquared, budget: object(policy, 'budget') } as unknown as IdentificationPolicy);
  } catch (error) {
    fail(error instanceof Error ? error.message : 'policy is invalid');
  }
}

/** Reads metadata written by twoServerMetadataToJson (stored data: a mismatch is a server fault). */
export function parseTwoServerMetadata(json: JsonObject): TwoServerMetadata {
  const backend = text(json, 'backend', /^(she|bfv)$/) as HeBackendName;
  const publicMaterial = object(json, 'publicMaterial');
  const templateCount = count(json, 'templateCount', 1);
  return {
    backend,
    keyId: text(json, 'keyId', /^[0-9a-f]{16}$/),
    d: count(json, 'd', 1),
    maxAbs: count(json, 'maxAbs', 1),
    vectorsPerRecord: count(json, 'vectorsPerRecord', 1),
    recordBytes: count(json, 'recordBytes', 1),
    queryBytes: count(json, 'queryBytes', 1),
    dist2Max: count(json, 'dist2Max', 1),
    templateCount,
    partitions: count(json, 'partitions', 1),
    shards: shardsOf(json, templateCount),
    policy: policyOf(json),
    publicMaterial: {
      ref: partRef(object(publicMaterial, 'ref')),
      bytes: count(publicMaterial, 'bytes', 1),
      sha256: text(publicMaterial, 'sha256', /^[0-9a-f]{64}$/),
    },
    publishedFrom: text(json, 'publishedFrom', /^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  };
}
