/**
 * GET index for a two-server index: everything a client needs to encrypt a query and what the
 * owner lets users ask, from the catalog metadata, and a presigned GET of the public material.
 */
import type { JsonObject } from '../../storage/types';
import type { IndexKindSummarizer, IndexSummaryAccess } from '../types';
import { parseTwoServerMetadata } from './metadata';

/** Lifetime of the presigned GET of the public material in index descriptions. */
export const PUBLIC_MATERIAL_URL_SECONDS = 15 * 60;

/**
 * The public description: everything a client needs to encrypt a query (key id, backend,
 * dimension, coordinate bound, query size) and where to download the public material.
 */
export async function summarizeTwoServer(json: JsonObject, access?: IndexSummaryAccess): Promise<JsonObject> {
  const metadata = parseTwoServerMetadata(json);
  const publicMaterial: JsonObject = { bytes: metadata.publicMaterial.bytes, sha256: metadata.publicMaterial.sha256 };
  if (access !== undefined) {
    const url = await access.presignGet(metadata.publicMaterial.ref, PUBLIC_MATERIAL_URL_SECONDS);
    publicMaterial.download = { url: url.url, method: url.method, headers: { ...url.headers }, expiresAt: url.expiresAt };
  }
  return {
    backend: metadata.backend,
    keyId: metadata.keyId,
    d: metadata.d,
    maxAbs: metadata.maxAbs,
    templateCount: metadata.templateCount,
    partitions: metadata.partitions,
    queryBytes: metadata.queryBytes,
    publicMaterial,
    // What a user may ask: the owner's limits and the per-user budget.
    policy: {
      maxK: metadata.policy.maxK,
      maxTauSquared: metadata.policy.maxTauSquared,
      budget: { queries: metadata.policy.budget.queries, windowSeconds: metadata.policy.budget.windowSeconds },
    },
  };
}

export const twoServerIndexSummarizer: IndexKindSummarizer = { summarize: summarizeTwoServer };
