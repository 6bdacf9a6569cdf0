/**
 * POST /v1/owners/{ownerId}/images/removals {imageIds: [...], absentFrom: {indexName: version}}:
 * the owner deleted these images from its indexes; their encrypted envelopes are to go. CS1
 * records the request (nothing is removed now): the scheduled clean-up removes each envelope
 * once no kept index version may list it (lib/service/images/image-removals.ts). 200 {removals:
 * [{imageId, requestedAt}]}; 404 for an unknown image or a version `absentFrom` names that is not
 * published (then nothing is recorded). Uploading an image again cancels its pending removal.
 */
import { CS1_API } from '../../lib/api/routes';
import { cs1Services } from '../../lib/service/cs1-services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { serviceLogger, serviceNameOf } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.imageRemovals.handler);

export const handler = routeHandler(CS1_API.imageRemovals, async (event) => {
  const { ownerId } = callerOf(event);
  const removals = await cs1Services().removals.request(ownerId, event.body);
  serviceLogger(SERVICE).info('image removals recorded', { ownerId, images: removals.length, indexes: Object.keys(event.body.absentFrom).length });
  return json(200, { removals });
});
