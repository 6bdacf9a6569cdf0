/**
 * POST /v1/owners/{ownerId}/indexes/{indexName}/identify {query, tauSquared | k}: two-server
 * identification. `query` is the client's encrypted query (base64), made with the index's public
 * material (GET the index for its key id, query size, limits and a download URL). Exactly one
 * of `tauSquared` (range query: every template within that squared distance, integer >= 0) and
 * `k` (the k nearest), each at most the index's limit (its owner's policy).
 *
 * 200 {version, templateIds: [...] nearest first, truncated?, budget?: {limit, remaining,
 * resetsAt}}: ids only, never distances. A user's queries count against their budget on the
 * index: 429 with Retry-After once it is spent. CS2 or a shard worker down, slow or refusing:
 * 503 with a message saying so (the next request tries again). Logs counts and timings only,
 * never the query, distances or ids.
 */
import { CS1_API } from '../../lib/api/routes';
import { SHE_WARNING } from '../../lib/he/backends';
import { decodeBase64 } from '../../lib/twoserver/transport/decrypt-event';
import { MAX_QUERY_BYTES } from '../../lib/api/limits';
import { DEADLINE_MARGIN_MS } from '../../lib/service/two-server/limits';
import { twoServerServices } from '../../lib/service/two-server/services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { serviceLogger, serviceNameOf } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.identify.handler);

export const handler = routeHandler(CS1_API.identify, async (event, context) => {
  const caller = callerOf(event);
  const indexName = event.pathParameters.indexName;
  const started = Date.now();
  const query = decodeBase64(event.body.query, 'query', MAX_QUERY_BYTES);
  const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
  const deadline = remaining !== undefined && remaining > 0 ? started + remaining - DEADLINE_MARGIN_MS : undefined;
  const { response, log } = await twoServerServices().identification.identify(
    caller.ownerId,
    indexName,
    { query, tauSquared: event.body.tauSquared, k: event.body.k },
    { deadline, userId: caller.role === 'user' ? caller.userId : undefined },
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
  if (log.backend === 'she') serviceLogger(SERVICE).warn('identified on an insecure index', { ownerId: caller.ownerId, indexName, warning: SHE_WARNING });
  return json(200, response);
});
