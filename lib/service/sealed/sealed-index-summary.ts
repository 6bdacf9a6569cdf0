/** GET index for a sealed index: its public layout and a presigned GET of the routing part. */
import type { JsonObject } from '../../storage/types';
import { parseSealedMetadata } from './sealed-metadata';
import type { IndexKindSummarizer, IndexSummaryAccess } from '../types';

/** Lifetime of the presigned GET of the routing part in index descriptions. */
export const ROUTING_URL_SECONDS = 15 * 60;

/** What a client needs: the layout, and where to download the routing part (with its SHA-256). */
async function summarizeSealed(json: JsonObject, access?: IndexSummaryAccess): Promise<JsonObject> {
  const metadata = parseSealedMetadata(json);
  const routing: JsonObject = { bytes: metadata.routing.bytes, sha256: metadata.routing.sha256 };
  if (access !== undefined) {
    const url = await access.presignGet(metadata.routing.ref, ROUTING_URL_SECONDS);
    routing.download = { url: url.url, method: url.method, headers: { ...url.headers }, expiresAt: url.expiresAt };
  }
  const { keyId, leafCount, leafBytes, leavesPerQuery } = metadata.layout;
  return { keyId, leafCount, leafBytes, leavesPerQuery, routing };
}

export const sealedIndexSummarizer: IndexKindSummarizer = { summarize: summarizeSealed };
