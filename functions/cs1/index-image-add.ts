/**
 * POST /v1/owners/{ownerId}/indexes/{indexName}/images {imageId, vector, placementTrapdoor}:
 * adds one image to the serving SEI index as a new version (copy-on-write: one leaf rewritten).
 * 201 {version, previousVersion, imageId, leaf, imageCount, rebuildAdvice}; 409 for an id the
 * index holds already, or when another change came first (retry).
 */
import { CS1_API } from '../../lib/api/routes';
import { cs1Services } from '../../lib/service/cs1-services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { serviceLogger, serviceNameOf } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.addImage.handler);

export const handler = routeHandler(CS1_API.addImage, async (event) => {
  const { ownerId } = callerOf(event);
  const indexName = event.pathParameters.indexName;
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
