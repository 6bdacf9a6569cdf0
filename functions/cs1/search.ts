/**
 * POST /v1/owners/{ownerId}/indexes/{indexName}/search {trapdoors, k, probes}: SEI top-k
 * search with K-anonymity (1..16 trapdoors, one result list each, in request order). Reads the
 * current version on every request; the loaded index stays in memory across warm invocations
 * (leaves fetched lazily by byte range, cache bounded by BLINDSIGHT_INDEX_CACHE_MB).
 */
import {
  DEFAULT_SEARCH_PROBES,
  MAX_ENCRYPTED_DIMENSION,
  MAX_SEARCH_K,
  MAX_SEARCH_PROBES,
  MAX_TRAPDOORS_PER_SEARCH,
} from '../../lib/service/cs1/limits';
import { cs1Services } from '../../lib/service/cs1/services';
import { callerOf } from '../lib/caller';
import { httpHandler } from '../lib/http-handler';
import { serviceLogger } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = 'blindsight-cs1-search';

interface Body {
  trapdoors: number[][];
  k: number;
  probes?: number;
}

const bodySchema = {
  type: 'object',
  required: ['trapdoors', 'k'],
  additionalProperties: false,
  properties: {
    trapdoors: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_TRAPDOORS_PER_SEARCH,
      items: { type: 'array', minItems: 1, maxItems: MAX_ENCRYPTED_DIMENSION, items: { type: 'number' } },
    },
    k: { type: 'integer', minimum: 1, maximum: MAX_SEARCH_K },
    probes: { type: 'integer', minimum: 1, maximum: MAX_SEARCH_PROBES, default: DEFAULT_SEARCH_PROBES },
  },
};

export const handler = httpHandler<Body>({ service: SERVICE, auth: 'owner-or-user', bodySchema }, async (event) => {
  const caller = callerOf(event);
  const indexName = event.pathParameters?.indexName as string;
  const started = Date.now();
  const services = cs1Services();
  // The owner, who publishes and updates, reads the pointer every time (read-your-writes).
  const { version, results, stats } = await services.search.search(caller.ownerId, indexName, event.body, { freshPointer: caller.role === 'owner' });
  serviceLogger(SERVICE).info('search', {
    ownerId: caller.ownerId,
    role: caller.role,
    userId: caller.userId,
    indexName,
    version,
    trapdoors: results.length,
    k: event.body.k,
    probes: event.body.probes,
    ...stats,
    cache: services.indexCache.usage,
    ms: Date.now() - started,
  });
  return json(200, { version, results });
});
