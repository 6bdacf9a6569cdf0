/**
 * GET /v1/owners/{ownerId}/indexes/{indexName}/versions/{version}/publish: the version's
 * publish job (lib/api/schemas.ts PublishJob): running with its phase and the parts and bytes
 * done, succeeded with what serves now, or failed with the error code and message. A job whose
 * worker stopped without finishing is reported failed once its lease has passed. 404 if no
 * publish of the version was started.
 */
import { CS1_API } from '../../lib/api/routes';
import { cs1IndexVersions } from '../../lib/service/versions/index-version-services';
import { cs1PublishJobs } from '../../lib/service/versions/publish-job-services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { json } from '../lib/responses';

export const handler = routeHandler(CS1_API.publishStatus, async (event) => {
  const { ownerId } = callerOf(event);
  const { indexName, version } = event.pathParameters;
  return json(200, await cs1PublishJobs(cs1IndexVersions()).status(ownerId, indexName, version));
});
