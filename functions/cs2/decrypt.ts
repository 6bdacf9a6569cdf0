/**
 * CS2's decrypt function. Not an HTTP handler: CS1's identify role invokes it directly (Lambda
 * Invoke, authorized by the resource policy naming that role; locally, the CS2 gateway passes
 * the same event on after checking CS1's credential).
 *
 *   event  {keyId, batch: base64} | {keyId, batchUrl, batchSha256}
 *   result {values: string[]}      blinded values as decimal strings, in batch order
 *
 * Failures are thrown, as direct invocation reports them ({errorType, errorMessage}):
 * Blindsight's typed errors keep their name and their (safe) message; anything else becomes
 * an INTERNAL error with a generic message, its details going to CS2's log only. Stack traces
 * are cut from what is returned. Logs: key id, value count, bytes, timings; never keys,
 * batches, URLs or values.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { BlindsightError, isBlindsightError } from '../../lib/core/errors';
import { SHE_WARNING } from '../../lib/he/backends';
import { cs2DecryptService } from '../../lib/service/cs2/services';
import type { Cs2DecryptResult } from '../../lib/twoserver/transport/decrypt-event';
import { HE_KEY_ID_PATTERN } from '../../lib/twoserver/transport/decrypt-event';
import { serviceLogger } from '../lib/logger';

const SERVICE = 'blindsight-cs2-decrypt';
const logger = serviceLogger(SERVICE);

/** The key id of an event, if it is a well-formed one (safe to log). */
function keyIdOf(event: unknown): string | undefined {
  const keyId = (event as { keyId?: unknown } | null)?.keyId;
  return typeof keyId === 'string' && HE_KEY_ID_PATTERN.test(keyId) ? keyId : undefined;
}

/** An error as returned to the invoker: name and message only, no stack frames. */
function withoutStack<E extends Error>(error: E): E {
  error.stack = `${error.name}: ${error.message}`;
  return error;
}

const errorSanitizer: middy.MiddlewareObj<unknown, Cs2DecryptResult, Error, Context> = {
  onError: async (request) => {
    const { error } = request;
    const keyId = keyIdOf(request.event);
    if (isBlindsightError(error) && error.code !== 'INTERNAL') {
      logger.info('decrypt refused', { keyId, code: error.code, errorType: error.name });
      request.error = withoutStack(error);
      return;
    }
    logger.error('decrypt failed', {
      keyId,
      error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
    });
    const message =
      isBlindsightError(error) && error.code === 'INTERNAL'
        ? error.message
        : 'CS2 could not decrypt the batch because of an internal error; see the CS2 log';
    request.error = withoutStack(new BlindsightError('INTERNAL', message));
  },
};

async function decrypt(event: unknown): Promise<Cs2DecryptResult> {
  const started = performance.now();
  const outcome = await cs2DecryptService().decrypt(event);
  logger.info('batch decrypted', {
    keyId: outcome.keyId,
    backend: outcome.backend,
    count: outcome.count,
    batchBytes: outcome.batchBytes,
    transfer: outcome.transfer,
    warmKey: outcome.warmKey,
    fetchMs: outcome.fetchMs,
    decryptMs: outcome.decryptMs,
    ms: Math.round(performance.now() - started),
  });
  if (outcome.backend === 'she') logger.warn('decrypted with an insecure key', { keyId: outcome.keyId, warning: SHE_WARNING });
  return outcome.result;
}

export const handler = middy<unknown, Cs2DecryptResult, Error, Context>(decrypt)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(errorSanitizer);
