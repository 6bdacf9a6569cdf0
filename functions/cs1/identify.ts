/**
 * POST /v1/owners/{ownerId}/indexes/{indexName}/identify {query, tauSquared | k}: two-server
 * identification. `query` is the client's encrypted query (base64), made with the index's public
 * material (GET the index for its key id, query size and a download URL). Exactly one of
 * `tauSquared` (range query: every template within that squared distance, integer >= 0) and `k`
 * (the k nearest, 1..50).
 *
 * 200 {version, matches: [{templateId, dist2}], stats: {cs2Calls, candidates}, truncated?}.
 * CS2 down, slow or refusing: 503 with a message saying so (the next request tries again).
 * Logs counts and timings only, never the query or distances.
 */
import { decodeBase64 } from '../../lib/twoserver/transport/decrypt-event';
import { DEADLINE_MARGIN_MS, MAX_IDENTIFY_K, MAX_QUERY_BASE64_LENGTH, MAX_QUERY_BYTES } from '../../lib/service/twoserver/limits';
import { twoServerServices } from '../../lib/service/twoserver/services';
import { callerOf } from '../lib/caller';
import { httpHandler } from '../lib/http-handler';
import { serviceLogger } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = 'blindsight-cs1-identify';

interface Body {
  query: string;
  tauSquared?: number;
  k?: number;
}

const bodySchema = {
  type: 'object',
  required: ['query'],
  additionalProperties: false,
  properties: {
    query: { type: 'string', minLength: 4, maxLength: MAX_QUERY_BASE64_LENGTH },
    tauSquared: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    k: { type: 'integer', minimum: 1, maximum: MAX_IDENTIFY_K },
  },
  // "Exactly one of tauSquared and k" is checked by the service, whose message says why.
};

export const handler = httpHandler<Body>({ service: SERVICE, auth: 'owner-or-user', bodySchema }, async (event, context) => {
  const caller = callerOf(event);
  const indexName = event.pathParameters?.indexName as string;
  const started = Date.now();
  const query = decodeBase64(event.body.query, 'query', MAX_QUERY_BYTES);
  const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
  const deadline = remaining !== undefined && remaining > 0 ? started + remaining - DEADLINE_MARGIN_MS : undefined;
  const { response, log } = await twoServerServices().identification.identify(
    caller.ownerId,
    indexName,
    { query, tauSquared: event.body.tauSquared, k: event.body.k },
    { deadline },
  );
  serviceLogger(SERVICE).info('identify', {
    ownerId: caller.ownerId,
    role: caller.role,
    userId: caller.userId,
    indexName,
    version: response.version,
    ...log,
    ms: Date.now() - started,
  });
  return json(200, response);
});
