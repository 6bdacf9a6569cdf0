/**
 * DELETE /v1/owners/{ownerId}/indexes/{indexName}/images/{imageId}: removes one image from the
 * serving SEI index as a new version (copy-on-write). 200 {version, previousVersion, imageId,
 * leaf, imageCount, rebuildAdvice}; 404 for an id the index does not hold. The encrypted image
 * itself stays in storage (other indexes may list it): the owner asks for its removal once every
 * index has a version without it (POST .../images/removals).
 */
import { CS1_API } from '../../lib/api/routes';
import { cs1Services } from '../../lib/service/cs1-services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { serviceLogger, serviceNameOf } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.deleteImage.handler);

export const handler = routeHandler(CS1_API.deleteImage, async (event) => {
  const { ownerId } = callerOf(event);
  const indexName = event.pathParameters.indexName;
  const result = await cs1Services().updates.deleteImage(ownerId, indexName, event.pathParameters.imageId);
  serviceLogger(SERVICE).info('image deleted', {
    ownerId,
    indexName,
    version: result.version,
    previousVersion: result.previousVersion,
    leaf: result.leaf,
    imageCount: result.imageCount,
    rebuildAdvisable: result.rebuildAdvice.advisable,
  });
  return json(200, result);
});
