/**
 * POST /v1/owners/{ownerId}/images/uploads {images: [{imageId, byteLength}]}: presigned PUT
 * URLs for encrypted image envelopes (1..100 per request, at most 50 MB each). The client PUTs
 * each envelope with the returned headers (type and length are signed).
 */
import { MAX_IMAGE_BYTES, MAX_IMAGES_PER_REQUEST } from '../../lib/service/cs1/limits';
import { cs1Services } from '../../lib/service/cs1/services';
import { MAX_IMAGE_ID_LENGTH } from '../../lib/storage/identifiers';
import { callerOf } from '../lib/caller';
import { httpHandler } from '../lib/http-handler';
import { serviceLogger } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = 'blindsight-cs1-image-uploads';

interface Body {
  images: Array<{ imageId: string; byteLength: number }>;
}

const bodySchema = {
  type: 'object',
  required: ['images'],
  additionalProperties: false,
  properties: {
    images: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_IMAGES_PER_REQUEST,
      items: {
        type: 'object',
        required: ['imageId', 'byteLength'],
        additionalProperties: false,
        properties: {
          imageId: { type: 'string', minLength: 1, maxLength: MAX_IMAGE_ID_LENGTH },
          byteLength: { type: 'integer', minimum: 1, maximum: MAX_IMAGE_BYTES },
        },
      },
    },
  },
};

export const handler = httpHandler<Body>({ service: SERVICE, auth: 'owner', bodySchema }, async (event) => {
  const { ownerId } = callerOf(event);
  const uploads = await cs1Services().images.createUploads(ownerId, event.body.images);
  serviceLogger(SERVICE).info('upload urls issued', { ownerId, images: uploads.length });
  return json(200, { uploads });
});
