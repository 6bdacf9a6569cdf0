/**
 * The catalog metadata of an SEI index version (a small JSON object next to the skeleton and
 * leaf-locations blobs), and its checked reading.
 */
import { MalformedDataError } from '../../core/errors';
import type { SearchDefaults } from '../../sei/index-tree/types';
import type { JsonObject, JsonValue } from '../../storage/types';
import { parseImageId, parseStoredId, parseVersionId } from '../../core/ids';
import type { ImageId, VersionId } from '../../core/ids';

export const SEI_METADATA_FORMAT = 'sei-v1';
/** Catalog blob of the skeleton, for versions staged before it moved to S3 (metadata.skeleton). */
export const SKELETON_BLOB = 'skeleton';
/** The S3 object (of the version's prefix) that holds the skeleton of versions made by updates. */
export const SKELETON_OBJECT = 'skeleton';

export interface SeiMetadata {
  readonly d: number;
  readonly m: number;
  readonly ownerKeyId: string;
  readonly imageCount: number;
  readonly leafCount: number;
  readonly nodeCount: number;
  readonly shardCount: number;
  readonly updates: { readonly added: number; readonly deleted: number; readonly builtSize: number; readonly builtMaxLeaf: number };
  /** Search defaults the owner's build stored (absent for versions published before they existed). */
  readonly search?: SearchDefaults;
  /** The version whose uploaded parts this version was validated from (or derived from). */
  readonly publishedFrom: string;
  /**
   * Where the skeleton lives: one immutable S3 object of a version (its digest fixed at
   * publish, checked on read). Absent for versions staged before: their skeleton is a catalog blob.
   */
  readonly skeleton?: { readonly version: VersionId; readonly part: string };
  /** For versions made by an update: the version it changed, and how. */
  readonly derivedFrom?: { readonly version: VersionId; readonly operation: 'add' | 'delete'; readonly imageId: ImageId; readonly leaf: number };
}

/** Search defaults as JSON (an unmeasured recall, NaN, becomes null). */
export function searchDefaultsToJson(search: SearchDefaults): JsonObject {
  return {
    strategy: search.strategy,
    probes: search.probes,
    beam: search.beam,
    targetRecall: search.targetRecall,
    measuredRecall: Number.isNaN(search.measuredRecall) ? null : search.measuredRecall,
    calibrationQueries: search.calibrationQueries,
  };
}

function parseSearchDefaults(json: JsonObject, what: string): SearchDefaults {
  const { strategy, measuredRecall, targetRecall } = json;
  if (strategy !== 'descent' && strategy !== 'beam') throw new MalformedDataError(what, 'search.strategy is not "descent" or "beam"');
  if (typeof targetRecall !== 'number' || (measuredRecall !== null && typeof measuredRecall !== 'number')) {
    throw new MalformedDataError(what, 'search recall values are missing');
  }
  return {
    strategy,
    probes: count(json.probes, 'search.probes', what),
    beam: count(json.beam, 'search.beam', what),
    targetRecall,
    measuredRecall: measuredRecall ?? Number.NaN,
    calibrationQueries: count(json.calibrationQueries, 'search.calibrationQueries', what),
  };
}

export function seiMetadataToJson(metadata: SeiMetadata): JsonObject {
  const json: JsonObject = {
    format: SEI_METADATA_FORMAT,
    d: metadata.d,
    m: metadata.m,
    ownerKeyId: metadata.ownerKeyId,
    imageCount: metadata.imageCount,
    leafCount: metadata.leafCount,
    nodeCount: metadata.nodeCount,
    shardCount: metadata.shardCount,
    updates: { ...metadata.updates },
    publishedFrom: metadata.publishedFrom,
  };
  if (metadata.search !== undefined) json.search = searchDefaultsToJson(metadata.search);
  if (metadata.derivedFrom !== undefined) json.derivedFrom = { ...metadata.derivedFrom };
  if (metadata.skeleton !== undefined) json.skeleton = { version: metadata.skeleton.version, part: metadata.skeleton.part };
  return json;
}

function count(value: JsonValue | undefined, field: string, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new MalformedDataError(what, `${field} is not a count`);
  return value;
}

function object(value: JsonValue | undefined): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
}

export function parseSeiMetadata(json: JsonObject, what = 'SEI index metadata'): SeiMetadata {
  if (json.format !== SEI_METADATA_FORMAT) throw new MalformedDataError(what, `format is not "${SEI_METADATA_FORMAT}"`);
  if (typeof json.ownerKeyId !== 'string' || typeof json.publishedFrom !== 'string') {
    throw new MalformedDataError(what, 'ownerKeyId or publishedFrom is missing');
  }
  const updates = object(json.updates);
  if (updates === undefined) throw new MalformedDataError(what, 'updates is missing');
  const derived = object(json.derivedFrom);
  const search = object(json.search);
  const skeleton = object(json.skeleton);
  if (skeleton !== undefined && (typeof skeleton.version !== 'string' || typeof skeleton.part !== 'string')) throw new MalformedDataError(what, 'skeleton is incomplete');
  let derivedFrom: SeiMetadata['derivedFrom'];
  if (derived !== undefined) {
    if (typeof derived.version !== 'string' || typeof derived.imageId !== 'string' || (derived.operation !== 'add' && derived.operation !== 'delete')) {
      throw new MalformedDataError(what, 'derivedFrom is incomplete');
    }
    derivedFrom = {
      version: parseStoredId(parseVersionId, derived.version, what),
      operation: derived.operation,
      imageId: parseStoredId(parseImageId, derived.imageId, what),
      leaf: count(derived.leaf, 'derivedFrom.leaf', what) };
  }
  return {
    d: count(json.d, 'd', what),
    m: count(json.m, 'm', what),
    ownerKeyId: json.ownerKeyId,
    imageCount: count(json.imageCount, 'imageCount', what),
    leafCount: count(json.leafCount, 'leafCount', what),
    nodeCount: count(json.nodeCount, 'nodeCount', what),
    shardCount: count(json.shardCount, 'shardCount', what),
    updates: {
      added: count(updates.added, 'updates.added', what),
      deleted: count(updates.deleted, 'updates.deleted', what),
      builtSize: count(updates.builtSize, 'updates.builtSize', what),
      builtMaxLeaf: count(updates.builtMaxLeaf, 'updates.builtMaxLeaf', what),
    },
    ...(search === undefined ? {} : { search: parseSearchDefaults(search, what) }),
    publishedFrom: json.publishedFrom,
    derivedFrom,
    ...(skeleton === undefined ? {} : { skeleton: { version: parseStoredId(parseVersionId, skeleton.version, what), part: skeleton.part as string } }),
  };
}
