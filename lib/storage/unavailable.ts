/**
 * Storage that does not answer is not the caller's fault and not a bug: it is a 503 the client
 * may retry. Every SDK client of the storage adapters carries `failUnavailable`, which turns
 * connection failures, timeouts, throttling and 5xx answers (after the SDK's own retries) into
 * UnavailableError; every other error (missing keys, failed conditions) passes unchanged.
 */
import type { InitializeHandlerOptions, InitializeMiddleware, MetadataBearer, Pluggable } from '@smithy/types';
import { UnavailableError } from '../core/errors';

/** Socket-level failures: the request never got an answer. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/** Error names of the services' throttling and outage answers, and of the SDK's timeouts. */
const UNAVAILABLE_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'SlowDown',
  'ServiceUnavailable',
  'InternalServerError',
  'InternalError',
  'InternalFailure',
]);

export function isStorageUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, name, $metadata } = error as { code?: unknown; name?: unknown; $metadata?: MetadataBearer['$metadata'] };
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  if (typeof name === 'string' && UNAVAILABLE_NAMES.has(name)) return true;
  const status = $metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 500;
}

/** `service` names the storage in the message ("DynamoDB", "S3", "Secrets Manager"). */
export function failUnavailable(service: string): Pluggable<object, MetadataBearer> {
  const middleware: InitializeMiddleware<object, MetadataBearer> = (next) => async (args) => {
    try {
      return await next(args);
    } catch (error) {
      if (!isStorageUnavailable(error)) throw error;
      const detail = error instanceof Error ? `${error.name}${(error as { code?: string }).code ? ` ${(error as { code?: string }).code}` : ''}` : 'error';
      throw new UnavailableError(`${service} is unavailable (${detail}): try again shortly`, { cause: error });
    }
  };
  const options: InitializeHandlerOptions = { step: 'initialize', name: `blindsight-${service.replace(/\W+/g, '-').toLowerCase()}-unavailable`, override: true };
  return { applyToStack: (stack) => stack.add(middleware, options) };
}
