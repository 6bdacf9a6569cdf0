/**
 * POST /v1/owners/{ownerId}/indexes/{indexName}/versions/{version}/publish {expectedCurrent}:
 * validates the uploaded parts completely, stages the version and makes it current with one
 * conditional write, only if the index still serves `expectedCurrent` (null: nothing yet).
 * 200 {version, previousVersion}; 400 naming what is wrong with the parts; 409 if another
 * publish came first. A refused publish leaves the current version serving.
 */
import { cs1IndexVersions } from '../../lib/service/cs1/index-version-services';
import { MAX_VERSION_LENGTH } from '../../lib/storage/identifiers';
import { callerOf } from '../lib/caller';
import { httpHandler } from '../lib/http-handler';
import { serviceLogger } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = 'blindsight-cs1-index-version-publish';

interface Body {
  expectedCurrent: string | null;
}

const bodySchema = {
  type: 'object',
  required: ['expectedCurrent'],
  additionalProperties: false,
  properties: { expectedCurrent: { type: 'string', nullable: true, minLength: 1, maxLength: MAX_VERSION_LENGTH } },
};

export const handler = httpHandler<Body>({ service: SERVICE, auth: 'owner', bodySchema }, async (event) => {
  const { ownerId } = callerOf(event);
  const indexName = event.pathParameters?.indexName as string;
  const version = event.pathParameters?.version as string;
  const started = Date.now();
  const published = await cs1IndexVersions().publishVersion(ownerId, indexName, version, event.body.expectedCurrent);
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
