/**
 * POST /v1/owners/{ownerId}/indexes/{indexName}/versions/{version}/publish {expectedCurrent, signedManifest?}:
 * validates the uploaded parts completely, stages the version and makes it current with one
 * conditional write, only if the index still serves `expectedCurrent` (null: nothing yet).
 * 200 {version, previousVersion, kind, publishedAt[, warnings]}; 400 naming what is wrong with
 * the parts or what this CS1 does not accept (a she index, unless
 * BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME is on); 409 if another publish came first. A refused
 * publish leaves the current version serving.
 */
import { CS1_API } from '../../lib/api/routes';
import { INDEX_KIND_VALIDATORS } from '../../lib/service/cs1/index-kind-validators';
import { cs1IndexVersions } from '../../lib/service/cs1/index-version-services';
import { callerOf } from '../lib/caller';
import { routeHandler, serviceNameOf } from '../lib/http-handler';
import { serviceLogger } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.publishIndexVersion.handler);

export const handler = routeHandler(CS1_API.publishIndexVersion, async (event) => {
  const { ownerId } = callerOf(event);
  const indexName = event.pathParameters.indexName;
  const version = event.pathParameters.version;
  const started = Date.now();
  const published = await cs1IndexVersions({ validators: INDEX_KIND_VALIDATORS }).publishVersion(
    ownerId,
    indexName,
    version,
    event.body.expectedCurrent,
    event.body.signedManifest,
  );
  for (const warning of published.warnings ?? []) serviceLogger(SERVICE).warn('published with a warning', { ownerId, indexName, version, warning });
  serviceLogger(SERVICE).info('version published', {
    ownerId,
    indexName,
    version,
    kind: published.kind,
    previousVersion: published.previousVersion,
    ms: Date.now() - started,
  });
  return json(200, published);
});
