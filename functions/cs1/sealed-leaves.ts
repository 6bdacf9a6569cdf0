/**
 * POST /v1/owners/{ownerId}/indexes/{indexName}/leaves {version, leaves, delivery}: exactly the
 * L leaves a client names of a sealed index version, as stored (AES-GCM sealed, one size), in
 * the answer (raw bytes when the request accepts application/octet-stream, else base64 in JSON)
 * or as presigned byte-range GETs. CS1 never sees a query, a vector or a
 * score, and cannot tell the real leaves from the decoys: it logs counts, never leaf numbers.
 */
import { acceptsBinary } from '../../lib/api/media-types';
import { CS1_API } from '../../lib/api/routes';
import { encodeSealedLeavesAnswer } from '../../lib/api/sealed-leaves-binary';
import { cs1Services } from '../../lib/service/cs1-services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { serviceLogger, serviceNameOf } from '../lib/logger';
import { HANDLER_LOG_MESSAGES } from '../lib/log-messages';
import { binary, json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.sealedLeaves.handler);

export const handler = routeHandler(CS1_API.sealedLeaves, async (event) => {
  const caller = callerOf(event);
  const indexName = event.pathParameters.indexName;
  const started = Date.now();
  const answer = await cs1Services().sealedLeaves.leaves(caller.ownerId, indexName, event.body);
  serviceLogger(SERVICE).info(HANDLER_LOG_MESSAGES.sealedLeaves, {
    ownerId: caller.ownerId,
    role: caller.role,
    userId: caller.userId,
    indexName,
    version: answer.version,
    leaves: answer.leaves.length,
    delivery: answer.downloads === undefined ? 'bytes' : 'urls',
    ...answer.stats,
    ms: Date.now() - started,
  });
  if (answer.data !== undefined && acceptsBinary(event.headers.accept)) {
    return binary(200, encodeSealedLeavesAnswer({ version: answer.version, leafBytes: answer.leafBytes, leaves: answer.leaves, data: answer.data }));
  }
  return json(200, {
    version: answer.version,
    leafBytes: answer.leafBytes,
    leaves: answer.leaves,
    ...(answer.data === undefined ? {} : { data: Buffer.from(answer.data.buffer, answer.data.byteOffset, answer.data.byteLength).toString('base64') }),
    ...(answer.downloads === undefined ? {} : { downloads: answer.downloads }),
  });
});
