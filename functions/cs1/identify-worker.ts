/**
 * CS1's identify worker. Not an HTTP handler: the identify function (the coordinator) invokes it
 * directly, once per shard holding candidates, all in parallel (Lambda Invoke in AWS, allowed
 * to the identify role only; the local cloud's Lambda endpoint locally).
 *
 *   event  {ownerId, indexName, version, shard, records, query: base64, blinding}
 *   result {shard, batch | batchKey + batchSha256, valueSlot, a, b, recordReads, bytesRead}
 *
 * (lib/twoserver/transport/worker-event.ts). Failures are thrown as direct invocation reports
 * them ({errorType, errorMessage}); Blindsight's typed errors keep their name and safe message
 * (and `errorCode`), anything else becomes a generic INTERNAL error whose details go to the log.
 * Logs counts and timings only: never the query, the blinding or the batch.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { BlindsightError, isBlindsightError } from '../../lib/core/errors';
import { twoServerServices } from '../../lib/service/two-server/services';
import type { ShardWorkerResult } from '../../lib/twoserver/transport/worker-event';
import { serviceLogger } from '../lib/logger';

const SERVICE = 'blindsight-cs1-identify-worker';
const logger = serviceLogger(SERVICE);

/** An error as returned to the invoker (its type names the class: UnavailableError, ...), no stack frames. */
function sanitized(error: Error): Error {
  const out = isBlindsightError(error) && error.code !== 'INTERNAL' ? error : new BlindsightError('INTERNAL', 'the shard worker failed because of an internal error; see its log');
  out.stack = `${out.name}: ${out.message}`;
  return out;
}

const errorSanitizer: middy.MiddlewareObj<unknown, ShardWorkerResult, Error, Context> = {
  onError: async (request) => {
    const { error } = request;
    if (isBlindsightError(error) && error.code !== 'INTERNAL') {
      logger.info('shard task refused', { code: error.code, errorType: error.name, message: error.message });
    } else {
      logger.error('shard task failed', { error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error) });
    }
    request.error = sanitized(error instanceof Error ? error : new Error(String(error)));
  },
};

async function evaluate(event: unknown): Promise<ShardWorkerResult> {
  const started = performance.now();
  const outcome = await twoServerServices().worker.evaluate(event);
  logger.info('shard evaluated', {
    ownerId: outcome.ownerId,
    indexName: outcome.indexName,
    version: outcome.version,
    shard: outcome.shard,
    records: outcome.records,
    bytesRead: outcome.bytesRead,
    batchBytes: outcome.batchBytes,
    staged: outcome.staged,
    warm: outcome.warm,
    ms: Math.round(performance.now() - started),
  });
  return outcome.result;
}

export const handler = middy<unknown, ShardWorkerResult, Error, Context>(evaluate)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(errorSanitizer);
