/**
 * POST /v1/owners/{ownerId}/indexes/{indexName}/images {imageId, vector, placementTrapdoor}:
 * adds one image to the serving SEI index as a new version (copy-on-write: one leaf rewritten).
 * 201 {version, previousVersion, imageId, leaf, imageCount, rebuildAdvice}; 409 for an id the
 * index holds already, or when another change came first (retry).
 */
import { MAX_ENCRYPTED_DIMENSION } from '../../lib/service/cs1/limits';
import { cs1Services } from '../../lib/service/cs1/services';
import { MAX_IMAGE_ID_LENGTH } from '../../lib/storage/identifiers';
import { callerOf } from '../lib/caller';
import { httpHandler } from '../lib/http-handler';
import { serviceLogger } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = 'blindsight-cs1-index-image-add';

interface Body {
  imageId: string;
  vector: number[];
  placementTrapdoor: number[];
}

const numbers = { type: 'array', minItems: 1, maxItems: MAX_ENCRYPTED_DIMENSION, items: { type: 'number' } };

const bodySchema = {
  type: 'object',
  required: ['imageId', 'vector', 'placementTrapdoor'],
  additionalProperties: false,
  properties: {
    imageId: { type: 'string', minLength: 1, maxLength: MAX_IMAGE_ID_LENGTH },
    vector: numbers,
    placementTrapdoor: numbers,
  },
};

export const handler = httpHandler<Body>({ service: SERVICE, auth: 'owner', bodySchema }, async (event) => {
  const { ownerId } = callerOf(event);
  const indexName = event.pathParameters?.indexName as string;
  const result = await cs1Services().updates.addImage(ownerId, indexName, event.body);
  serviceLogger(SERVICE).info('image added', {
    ownerId,
    indexName,
    version: result.version,
    previousVersion: result.previousVersion,
    leaf: result.leaf,
    imageCount: result.imageCount,
    rebuildAdvisable: result.rebuildAdvice.advisable,
  });
  return json(201, result);
});
