/**
 * POST /v1/owners/{ownerId}/images/downloads {imageIds: [...]}: presigned GET URLs for
 * encrypted result images (1..100 per request), for the owner and its users. 404 naming the
 * ids that do not exist.
 */
import { CS1_API } from '../../lib/api/routes';
import { cs1Services } from '../../lib/service/cs1-services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { serviceLogger, serviceNameOf } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.imageDownloads.handler);

export const handler = routeHandler(CS1_API.imageDownloads, async (event) => {
  const caller = callerOf(event);
  const downloads = await cs1Services().images.createDownloads(caller.ownerId, event.body.imageIds);
  serviceLogger(SERVICE).info('download urls issued', { ownerId: caller.ownerId, role: caller.role, userId: caller.userId, images: downloads.length });
  return json(200, { downloads });
});
