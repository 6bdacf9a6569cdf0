/**
 * POST /v1/owners/{ownerId}/images/uploads {images: [{imageId, byteLength}]}: presigned PUT
 * URLs for encrypted image envelopes (1..100 per request, at most 50 MB each). The client PUTs
 * each envelope with the returned headers (type and length are signed).
 */
import { CS1_API } from '../../lib/api/routes';
import { cs1Services } from '../../lib/service/cs1-services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { serviceLogger, serviceNameOf } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.imageUploads.handler);

export const handler = routeHandler(CS1_API.imageUploads, async (event) => {
  const { ownerId } = callerOf(event);
  const uploads = await cs1Services().images.createUploads(ownerId, event.body.images);
  serviceLogger(SERVICE).info('upload urls issued', { ownerId, images: uploads.length });
  return json(200, { uploads });
});
