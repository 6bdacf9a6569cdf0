/**
 * POST /v1/owners/{ownerId}/indexes/{indexName}/search {trapdoors, k, probes}: SEI top-k
 * search with K-anonymity (1..16 trapdoors, one result list each, in request order). Reads the
 * current version on every request; the loaded index stays in memory across warm invocations
 * (leaves fetched lazily by byte range, cache bounded by BLINDSIGHT_INDEX_CACHE_MB).
 */
import { CS1_API } from '../../lib/api/routes';
import { cs1Services } from '../../lib/service/cs1-services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { serviceLogger, serviceNameOf } from '../lib/logger';
import { HANDLER_LOG_MESSAGES } from '../lib/log-messages';
import { json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.search.handler);

export const handler = routeHandler(CS1_API.search, async (event) => {
  const caller = callerOf(event);
  const indexName = event.pathParameters.indexName;
  const started = Date.now();
  const services = cs1Services();
  // The owner, who publishes and updates, reads the pointer every time (read-your-writes).
  const { version, results, stats, provenance } = await services.search.search(caller.ownerId, indexName, event.body, { freshPointer: caller.role === 'owner' });
  serviceLogger(SERVICE).info(HANDLER_LOG_MESSAGES.search, {
    ownerId: caller.ownerId,
    role: caller.role,
    userId: caller.userId,
    indexName,
    version,
    trapdoors: results.length,
    k: event.body.k,
    ...stats,
    cache: services.indexCache.usage,
    ms: Date.now() - started,
  });
  return json(200, { version, results, ...(provenance !== undefined ? { provenance } : {}) });
});
