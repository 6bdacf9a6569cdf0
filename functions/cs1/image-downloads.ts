/**
 * POST /v1/owners/{ownerId}/images/downloads {imageIds: [...]}: presigned GET URLs for
 * encrypted result images (1..100 per request), for the owner and its users. 404 naming the
 * ids that do not exist.
 */
import { MAX_IMAGES_PER_REQUEST } from '../../lib/service/cs1/limits';
import { cs1Services } from '../../lib/service/cs1/services';
import { MAX_IMAGE_ID_LENGTH } from '../../lib/storage/identifiers';
import { callerOf } from '../lib/caller';
import { httpHandler } from '../lib/http-handler';
import { serviceLogger } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = 'blindsight-cs1-image-downloads';

interface Body {
  imageIds: string[];
}

const bodySchema = {
  type: 'object',
  required: ['imageIds'],
  additionalProperties: false,
  properties: {
    imageIds: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_IMAGES_PER_REQUEST,
      items: { type: 'string', minLength: 1, maxLength: MAX_IMAGE_ID_LENGTH },
    },
  },
};

export const handler = httpHandler<Body>({ service: SERVICE, auth: 'owner-or-user', bodySchema }, async (event) => {
  const caller = callerOf(event);
  const downloads = await cs1Services().images.createDownloads(caller.ownerId, event.body.imageIds);
  serviceLogger(SERVICE).info('download urls issued', { ownerId: caller.ownerId, role: caller.role, userId: caller.userId, images: downloads.length });
  return json(200, { downloads });
});
