/**
 * POST /v1/owners/{ownerId}/indexes/{indexName}/versions {kind, parts: {<name>: byteLength}}:
 * starts a new index version. 201 {version, kind, uploads: {<name>: presigned PUT}}; the owner
 * uploads every part, then publishes the version.
 */
import { createIndexKinds } from '../../lib/service/cs1/index-kinds';
import { cs1IndexVersions } from '../../lib/service/cs1/index-version-services';
import { MAX_BLOB_NAME_LENGTH } from '../../lib/storage/identifiers';
import { callerOf } from '../lib/caller';
import { httpHandler } from '../lib/http-handler';
import { serviceLogger } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = 'blindsight-cs1-index-version-create';

interface Body {
  kind: string;
  parts: Record<string, number>;
}

const bodySchema = {
  type: 'object',
  required: ['kind', 'parts'],
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: createIndexKinds().kinds },
    parts: {
      type: 'object',
      minProperties: 1,
      maxProperties: 16,
      propertyNames: { maxLength: MAX_BLOB_NAME_LENGTH },
      additionalProperties: { type: 'integer', minimum: 1 },
    },
  },
};

export const handler = httpHandler<Body>({ service: SERVICE, auth: 'owner', bodySchema }, async (event) => {
  const { ownerId } = callerOf(event);
  const indexName = event.pathParameters?.indexName as string;
  const created = await cs1IndexVersions().createVersion(ownerId, indexName, event.body);
  serviceLogger(SERVICE).info('version created', { ownerId, indexName, version: created.version, kind: created.kind, parts: event.body.parts });
  return json(201, created);
});
