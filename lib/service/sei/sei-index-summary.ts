/** GET index for an SEI index: its public description, from the catalog metadata only. */
import type { JsonObject } from '../../storage/types';
import { parseSeiMetadata, searchDefaultsToJson } from './sei-metadata';
import type { IndexKindSummarizer } from '../types';

function summarizeSei(json: JsonObject): JsonObject {
  const metadata = parseSeiMetadata(json);
  return {
    d: metadata.d,
    m: metadata.m,
    ownerKeyId: metadata.ownerKeyId,
    imageCount: metadata.imageCount,
    leafCount: metadata.leafCount,
    nodeCount: metadata.nodeCount,
    updates: { added: metadata.updates.added, deleted: metadata.updates.deleted, builtSize: metadata.updates.builtSize },
    ...(metadata.search === undefined ? {} : { search: searchDefaultsToJson(metadata.search) }),
    // The version the owner published from a build; updates keep it. Clients tell a rebuild from an update by it.
    publishedFrom: metadata.publishedFrom,
  };
}

export const seiIndexSummarizer: IndexKindSummarizer = { summarize: summarizeSei };
