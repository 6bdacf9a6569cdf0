/**
 * CS2's local front door. In AWS nothing public fronts CS2: CS1's identify role invokes the
 * decrypt function directly (Lambda Invoke, allowed by a resource policy). Locally CS2 runs in
 * its own process and takes the same invocation over HTTP:
 *
 *   POST /v1/decrypt
 *   Authorization: Bearer <BLINDSIGHT_CS2_CREDENTIAL>
 *   Content-Type: application/json
 *   {"keyId": "...", "batch": "<base64>"}          (the direct-invoke event, passed as is)
 *
 * Success: 200 with the function's result as JSON ({"values": [...]}).
 * Failure: the Lambda Invoke error payload {errorType, errorMessage} (plus `errorCode` for
 * Blindsight errors) with header `x-amz-function-error: Unhandled` and an HTTP status that
 * names the failure class (4xx for the caller's mistakes, 5xx for CS2's). A caller without
 * CS1's credential gets 403 before anything is read or run.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { CS2_DECRYPT_TIMEOUT_MS } from '../../cdk/timeouts';
import { isBlindsightError } from '../../lib/core/errors';
import { LAMBDA_MAX_SYNC_PAYLOAD_BYTES, LOCAL_FUNCTION_MEMORY_MB } from './aws-limits';
import { presentsTrustedCredential } from './cs1-credential';
import { invokeFunction } from './function-invoker';
import type { GatewayLog } from './gateway-log';
import { jsonLineLog } from './gateway-log';
import { newApiGatewayRequestId } from './rest-api-event';
import { headerValue, readBody, splitRequestTarget } from './http-request';
import { sendResponse } from './http-server';
import type { HandlerLoader } from './lambda-runtime';
import type { HttpResponse } from './lambda-response';
import { jsonResponse } from './lambda-response';
import { STATUS_OF_CODE } from '../../lib/api/errors';

export const CS2_DECRYPT_PATH = '/v1/decrypt';
export const CS2_DECRYPT_ROUTE = `POST ${CS2_DECRYPT_PATH}`;

export interface Cs2GatewayOptions {
  readonly account: string;
  readonly accountId: string;
  readonly region: string;
  /** SHA-256 digest of the credential only the local CS1 holds. */
  readonly trustedDigest: Buffer;
  readonly decryptHandler: string;
  readonly functionName: string;
  readonly loadHandler: HandlerLoader;
  readonly timeoutMs?: number;
  readonly maxPayloadBytes?: number;
  readonly log?: GatewayLog;
}

const FUNCTION_ERROR = { 'x-amz-function-error': 'Unhandled' };

function invokeError(status: number, errorType: string, errorMessage: string, errorCode?: string): HttpResponse {
  return jsonResponse(status, { errorType, errorMessage, ...(errorCode ? { errorCode } : {}) }, FUNCTION_ERROR);
}

export function createCs2Gateway(options: Cs2GatewayOptions): RequestListener {
  const log = options.log ?? jsonLineLog();
  const timeoutMs = options.timeoutMs ?? CS2_DECRYPT_TIMEOUT_MS;
  const maxPayloadBytes = options.maxPayloadBytes ?? LAMBDA_MAX_SYNC_PAYLOAD_BYTES;

  const answer = async (req: IncomingMessage): Promise<{ response: HttpResponse; route: string; reason?: string }> => {
    const { rawPath } = splitRequestTarget(req.url ?? '/');
    if (rawPath !== CS2_DECRYPT_PATH) {
      req.resume();
      return { response: jsonResponse(404, { message: 'Not Found' }), route: '-', reason: 'no-route' };
    }
    if (req.method !== 'POST') {
      req.resume();
      return { response: jsonResponse(405, { message: 'Method Not Allowed' }, { allow: 'POST' }), route: '-', reason: 'no-route-for-method' };
    }
    if (!presentsTrustedCredential(headerValue(req.rawHeaders, 'authorization'), options.trustedDigest)) {
      req.resume();
      return {
        response: invokeError(
          403,
          'AccessDeniedException',
          'CS2 accepts decryption requests only from CS1: the request did not carry the local CS1 credential ' +
            '(Authorization: Bearer <BLINDSIGHT_CS2_CREDENTIAL>). Send requests through CS1.',
          'FORBIDDEN',
        ),
        route: CS2_DECRYPT_ROUTE,
        reason: 'caller-not-cs1',
      };
    }
    const read = await readBody(req, maxPayloadBytes);
    if (!read.ok) {
      return {
        response: invokeError(413, 'RequestTooLargeException', `Request must be smaller than ${maxPayloadBytes} bytes for the InvokeFunction operation`, 'PAYLOAD_TOO_LARGE'),
        route: CS2_DECRYPT_ROUTE,
        reason: 'lambda-request-payload-limit',
      };
    }
    let event: unknown;
    try {
      event = JSON.parse(read.body.toString('utf8'));
    } catch {
      return {
        response: invokeError(400, 'InvalidRequestContentException', 'Could not parse request body into json: send the decrypt event as JSON', 'INVALID_INPUT'),
        route: CS2_DECRYPT_ROUTE,
        reason: 'invalid-json',
      };
    }
    const outcome = await invokeFunction({
      handler: options.decryptHandler,
      event,
      loadHandler: options.loadHandler,
      maxPayloadBytes,
      callerTimeoutMs: timeoutMs,
      fn: { functionName: options.functionName, accountId: options.accountId, region: options.region, timeoutMs, memoryMb: LOCAL_FUNCTION_MEMORY_MB },
    });
    switch (outcome.kind) {
      case 'result':
        return { response: jsonResponse(200, outcome.value ?? null), route: CS2_DECRYPT_ROUTE };
      case 'error': {
        if (isBlindsightError(outcome.error)) {
          const status = STATUS_OF_CODE[outcome.error.code] ?? 500;
          return { response: invokeError(status, outcome.errorType, outcome.errorMessage, outcome.error.code), route: CS2_DECRYPT_ROUTE, reason: 'function-error' };
        }
        // Unexpected errors may carry internal detail: log the type, send a generic message.
        log.event({ level: 'error', account: options.account, msg: 'function error', function: options.functionName, errorType: outcome.errorType, errorMessage: outcome.errorMessage });
        return { response: invokeError(500, outcome.errorType, 'CS2 could not decrypt the batch because of an internal error; see the CS2 log', 'INTERNAL'), route: CS2_DECRYPT_ROUTE, reason: 'function-error' };
      }
      case 'timeout':
        return { response: invokeError(504, 'Sandbox.Timedout', `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`, 'UNAVAILABLE'), route: CS2_DECRYPT_ROUTE, reason: 'function-timeout' };
      case 'event-too-large':
        return { response: invokeError(413, 'RequestTooLargeException', `Request must be smaller than ${maxPayloadBytes} bytes for the InvokeFunction operation`, 'PAYLOAD_TOO_LARGE'), route: CS2_DECRYPT_ROUTE, reason: 'lambda-request-payload-limit' };
      case 'response-too-large':
        log.event({ level: 'error', account: options.account, msg: 'function response exceeds the Lambda payload limit', function: options.functionName, bytes: outcome.bytes });
        return { response: invokeError(502, 'Function.ResponseSizeTooLarge', 'Response payload size exceeded maximum allowed payload size', 'INTERNAL'), route: CS2_DECRYPT_ROUTE, reason: 'lambda-response-payload-limit' };
      case 'load-failed':
        log.event({ level: 'error', account: options.account, msg: 'function could not be loaded', function: options.functionName, errorType: outcome.errorType, errorMessage: outcome.errorMessage });
        return { response: invokeError(500, 'Runtime.ImportModuleError', 'CS2 decrypt function could not be loaded; see the CS2 log', 'INTERNAL'), route: CS2_DECRYPT_ROUTE, reason: 'function-load-failed' };
    }
  };

  return (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const requestId = newApiGatewayRequestId();
    const finish = (result: { response: HttpResponse; route: string; reason?: string }) => {
      sendResponse(res, req.method ?? 'GET', result.response, { 'x-amzn-requestid': requestId });
      log.request({
        account: options.account,
        requestId,
        method: req.method ?? 'GET',
        route: result.route,
        status: result.response.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10,
        ...(result.reason ? { reason: result.reason } : {}),
      });
    };
    answer(req).then(finish, (error: unknown) => {
      log.event({ level: 'error', account: options.account, msg: 'gateway failure', errorType: error instanceof Error ? error.name : 'Error' });
      finish({ response: invokeError(500, 'ServiceException', 'CS2 gateway failure; see the CS2 log', 'INTERNAL'), route: '-', reason: 'gateway-failure' });
    });
  };
}
