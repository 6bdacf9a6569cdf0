/**
 * POST /v1/owners/{ownerId}/indexes/{indexName}/versions {kind, parts: {<name>: byteLength}}:
 * starts a new index version. 201 {version, kind, uploads: {<name>: presigned PUT}}; the owner
 * uploads every part, then publishes the version.
 */
import { CS1_API } from '../../lib/api/routes';
import { cs1IndexVersions } from '../../lib/service/versions/index-version-services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { serviceLogger, serviceNameOf } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.createIndexVersion.handler);

export const handler = routeHandler(CS1_API.createIndexVersion, async (event) => {
  const { ownerId } = callerOf(event);
  const indexName = event.pathParameters.indexName;
  const created = await cs1IndexVersions().createVersion(ownerId, indexName, event.body);
  serviceLogger(SERVICE).info('version created', { ownerId, indexName, version: created.version, kind: created.kind, parts: event.body.parts });
  return json(201, created);
});
