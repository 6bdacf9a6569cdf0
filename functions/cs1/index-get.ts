/**
 * GET /v1/owners/{ownerId}/indexes/{indexName}: the serving version, its kind and its public
 * summary (dimensions, counts, key id; for two-server indexes where the public material is).
 * 404 if nothing was published.
 */
import { CS1_API } from '../../lib/api/routes';
import { INDEX_KIND_SUMMARIZERS } from '../../lib/service/index-kinds/index-kind-summarizers';
import { cs1IndexVersions } from '../../lib/service/versions/index-version-services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { json } from '../lib/responses';

export const handler = routeHandler(CS1_API.getIndex, async (event) => {
  const { ownerId } = callerOf(event);
  return json(200, await cs1IndexVersions({ summarizers: INDEX_KIND_SUMMARIZERS }).describe(ownerId, event.pathParameters.indexName));
});
