/**
 * The catalog metadata of a sealed index version: the public layout (what CS1 needs to hand out
 * leaves), where the two parts are, and the routing part's size and SHA-256 (clients download
 * it once per version). CS1 never holds anything it could decrypt.
 */
import { MalformedDataError } from '../../core/errors';
import type { JsonObject, JsonValue } from '../../storage/types';
import type { SealedLayout } from '../../sealed/types';
import type { PartRef } from '../types';
import { parseStoredId, parseVersionId } from '../../core/ids';

export const SEALED_METADATA_FORMAT = 'sealed-v1';

export interface SealedMetadata {
  readonly layout: SealedLayout;
  readonly routing: { readonly ref: PartRef; readonly bytes: number; readonly sha256: string };
  readonly leaves: { readonly ref: PartRef; readonly bytes: number };
}

export function sealedMetadataToJson(metadata: SealedMetadata): JsonObject {
  const { layout, routing, leaves } = metadata;
  return {
    format: SEALED_METADATA_FORMAT,
    keyId: layout.keyId,
    leafCount: layout.leafCount,
    leafBytes: layout.leafBytes,
    leavesPerQuery: layout.leavesPerQuery,
    routing: { version: routing.ref.version, part: routing.ref.part, bytes: routing.bytes, sha256: routing.sha256 },
    leaves: { version: leaves.ref.version, part: leaves.ref.part, bytes: leaves.bytes },
  };
}

function count(value: JsonValue | undefined, field: string, what: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new MalformedDataError(what, `${field} is not a count`);
  return value;
}

function text(value: JsonValue | undefined, field: string, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new MalformedDataError(what, `${field} is missing`);
  return value;
}

function object(value: JsonValue | undefined, field: string, what: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MalformedDataError(what, `${field} is missing`);
  return value;
}

export function parseSealedMetadata(json: JsonObject, what = 'sealed index metadata'): SealedMetadata {
  if (json.format !== SEALED_METADATA_FORMAT) throw new MalformedDataError(what, `format is not "${SEALED_METADATA_FORMAT}"`);
  const routing = object(json.routing, 'routing', what);
  const leaves = object(json.leaves, 'leaves', what);
  const layout: SealedLayout = {
    keyId: text(json.keyId, 'keyId', what),
    leafCount: count(json.leafCount, 'leafCount', what, 1),
    leafBytes: count(json.leafBytes, 'leafBytes', what, 1),
    leavesPerQuery: count(json.leavesPerQuery, 'leavesPerQuery', what, 1),
  };
  const leavesBytes = count(leaves.bytes, 'leaves.bytes', what);
  if (leavesBytes !== layout.leafCount * layout.leafBytes) throw new MalformedDataError(what, 'leaves.bytes does not match the layout');
  return {
    layout,
    routing: {
      ref: { version: parseStoredId(parseVersionId, text(routing.version, 'routing.version', what), what), part: text(routing.part, 'routing.part', what) },
      bytes: count(routing.bytes, 'routing.bytes', what, 1),
      sha256: text(routing.sha256, 'routing.sha256', what),
    },
    leaves: { ref: { version: parseStoredId(parseVersionId, text(leaves.version, 'leaves.version', what), what), part: text(leaves.part, 'leaves.part', what) }, bytes: leavesBytes },
  };
}
