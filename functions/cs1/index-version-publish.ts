/**
 * POST /v1/owners/{ownerId}/indexes/{indexName}/versions/{version}/publish {expectedCurrent, signedManifest?}:
 * starts publishing a version. What can be checked at once is: 409 if the index no longer
 * serves `expectedCurrent`, 404 if the version does not exist. Then a publish job is recorded
 * and its worker (functions/cs1/index-version-publish-worker.ts) is invoked asynchronously; the
 * answer is 202 with the job (lib/api/schemas.ts PublishJob), whose progress and outcome
 * GET on the same path reports. A repeated request while the job runs answers the same job; a
 * version that already serves answers a succeeded job at once. Whatever the job finds wrong
 * with the parts, it records as the job's error; the current version keeps serving.
 */
import { CS1_API } from '../../lib/api/routes';
import { parseVersionId } from '../../lib/core/ids';
import { cs1IndexVersions } from '../../lib/service/versions/index-version-services';
import { cs1PublishJobs, publishJobLauncher } from '../../lib/service/versions/publish-job-services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { serviceLogger, serviceNameOf } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.publishIndexVersion.handler);

export const handler = routeHandler(CS1_API.publishIndexVersion, async (event) => {
  const { ownerId } = callerOf(event);
  const { indexName, version } = event.pathParameters;
  const expectedCurrent = event.body.expectedCurrent === null ? null : parseVersionId(event.body.expectedCurrent);
  const job = await cs1PublishJobs(cs1IndexVersions()).start(ownerId, indexName, version, expectedCurrent, event.body.signedManifest, publishJobLauncher());
  serviceLogger(SERVICE).info('publish job started', { ownerId, indexName, version, status: job.status });
  return json(202, job);
});
