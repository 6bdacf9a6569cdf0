/**
 * The Lambda Invoke API of a local account, for the functions one function of the account
 * invokes directly (CS1's identify coordinator -> its shard workers). It speaks the real wire
 * protocol, so the same code (the AWS SDK's LambdaClient, pointed here by
 * AWS_ENDPOINT_URL_LAMBDA) runs locally and in AWS:
 *
 *   POST /2015-03-31/functions/{FunctionName}/invocations     body: the event (JSON)
 *     200 the result payload
 *     200 + X-Amz-Function-Error: Unhandled, body {errorType, errorMessage, errorCode?} when the
 *         function failed (as Lambda reports it; errorCode is a local extra for typed errors)
 *     404 ResourceNotFoundException for a function this account does not have
 *     413 RequestTooLargeException beyond Lambda's 6 MB synchronous payload
 *
 * Invocations run in the account's execution environments like every other invocation.
 * RequestResponse invocations are served for `functions`; Event (asynchronous) invocations for
 * `asyncFunctions` (the publish worker): like Lambda, 202 as soon as the event is accepted, then
 * the function runs under its own timeout, and its outcome goes to the log (the stack configures
 * no retries and no destination). Requests are not signature-checked (like the storage
 * emulators, it listens on loopback only).
 */
import type { IncomingMessage, RequestListener } from 'node:http';
import { isBlindsightError } from '../../lib/core/errors';
import { LAMBDA_MAX_SYNC_PAYLOAD_BYTES, LOCAL_FUNCTION_MEMORY_MB } from './aws-limits';
import type { FunctionRuntime, InvocationOutcome } from './function-invoker';
import type { GatewayLog } from './gateway-log';
import { jsonLineLog } from './gateway-log';
import { headerValue, readBody, splitRequestTarget } from './http-request';
import { sendResponse } from './http-server';
import type { HttpResponse } from './lambda-response';
import { jsonResponse } from './lambda-response';

const INVOCATIONS = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export interface LambdaInvokeApiOptions {
  readonly account: string;
  readonly accountId: string;
  readonly region: string;
  /** Function name -> handler module (functions/<handler>.ts). */
  readonly functions: Readonly<Record<string, string>>;
  readonly runtime: FunctionRuntime;
  readonly timeoutMs: number;
  /** Function name -> handler module and timeout, for asynchronous (Event) invocations. */
  readonly asyncFunctions?: Readonly<Record<string, { readonly handler: string; readonly timeoutMs: number }>>;
  /** Called with each asynchronous invocation's outcome once it has ended (tests). */
  readonly onAsyncOutcome?: (name: string, outcome: InvocationOutcome) => void;
  readonly log?: GatewayLog;
}

/** Lambda's limit on an asynchronous invocation's payload. */
export const ASYNC_PAYLOAD_LIMIT_BYTES = 256 * 1024;

function serviceError(status: number, type: string, message: string): HttpResponse {
  return jsonResponse(status, { Type: 'User', message }, { 'x-amzn-errortype': type });
}

/** A function name as Lambda accepts it in the path: the name, or its ARN in this account. */
function functionNameOf(raw: string, accountId: string): string {
  const name = decodeURIComponent(raw);
  const arn = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:(\d{12}):function:([A-Za-z0-9_-]+)$/.exec(name);
  if (arn !== null) return arn[1] === accountId ? arn[2] : '';
  return name;
}

export function createLambdaInvokeApi(options: LambdaInvokeApiOptions): RequestListener {
  const log = options.log ?? jsonLineLog();

  /** An Event invocation: 202 once accepted; the function runs afterwards. */
  const acceptEvent = async (req: IncomingMessage, name: string, target: { readonly handler: string; readonly timeoutMs: number }): Promise<HttpResponse> => {
    const read = await readBody(req, ASYNC_PAYLOAD_LIMIT_BYTES);
    if (!read.ok) return serviceError(413, 'RequestTooLargeException', `Request must be smaller than ${ASYNC_PAYLOAD_LIMIT_BYTES} bytes for an asynchronous invocation`);
    let event: unknown;
    try {
      event = read.body.length === 0 ? {} : JSON.parse(read.body.toString('utf8'));
    } catch {
      return serviceError(400, 'InvalidRequestContentException', 'Could not parse request body into json');
    }
    const started = Date.now();
    void options
      .runtime({
        handler: target.handler,
        event,
        maxPayloadBytes: ASYNC_PAYLOAD_LIMIT_BYTES,
        callerTimeoutMs: target.timeoutMs + 60_000,
        fn: { functionName: name, accountId: options.accountId, region: options.region, timeoutMs: target.timeoutMs, memoryMb: LOCAL_FUNCTION_MEMORY_MB },
      })
      .then((outcome) => {
        const failed = outcome.kind !== 'result';
        log.event({
          level: failed ? 'error' : 'info',
          account: options.account,
          msg: failed ? 'asynchronous invocation failed' : 'asynchronous invocation finished',
          function: name,
          ms: Date.now() - started,
          ...(outcome.kind === 'error' ? { errorType: outcome.errorType, errorMessage: outcome.errorMessage } : failed ? { outcome: outcome.kind } : {}),
        });
        options.onAsyncOutcome?.(name, outcome);
      });
    return { statusCode: 202, headers: {}, multiValueHeaders: {}, body: Buffer.alloc(0) };
  };

  const answer = async (req: IncomingMessage): Promise<HttpResponse> => {
    const { rawPath } = splitRequestTarget(req.url ?? '/');
    const match = INVOCATIONS.exec(rawPath);
    if (match === null || req.method !== 'POST') {
      req.resume();
      return serviceError(404, 'UnknownOperationException', 'Unknown operation: only Invoke is served here');
    }
    const name = functionNameOf(match[1], options.accountId);
    const asyncTarget = options.asyncFunctions?.[name];
    if (asyncTarget !== undefined && headerValue(req.rawHeaders, 'x-amz-invocation-type') === 'Event') return acceptEvent(req, name, asyncTarget);
    const handler = options.functions[name];
    if (handler === undefined) {
      req.resume();
      return serviceError(404, 'ResourceNotFoundException', `Function not found: ${name.slice(0, 64)}`);
    }
    const invocationType = headerValue(req.rawHeaders, 'x-amz-invocation-type') ?? 'RequestResponse';
    if (invocationType !== 'RequestResponse') {
      req.resume();
      return serviceError(400, 'InvalidParameterValueException', 'only RequestResponse invocations are supported locally');
    }
    const read = await readBody(req, LAMBDA_MAX_SYNC_PAYLOAD_BYTES);
    if (!read.ok) return serviceError(413, 'RequestTooLargeException', `Request must be smaller than ${LAMBDA_MAX_SYNC_PAYLOAD_BYTES} bytes for the InvokeFunction operation`);
    let event: unknown;
    try {
      event = read.body.length === 0 ? {} : JSON.parse(read.body.toString('utf8'));
    } catch {
      return serviceError(400, 'InvalidRequestContentException', 'Could not parse request body into json');
    }
    const outcome = await options.runtime({
      handler,
      event,
      maxPayloadBytes: LAMBDA_MAX_SYNC_PAYLOAD_BYTES,
      callerTimeoutMs: options.timeoutMs,
      fn: { functionName: name, accountId: options.accountId, region: options.region, timeoutMs: options.timeoutMs, memoryMb: LOCAL_FUNCTION_MEMORY_MB },
    });
    const functionError = (errorType: string, errorMessage: string, errorCode?: string) =>
      jsonResponse(200, { errorType, errorMessage, ...(errorCode ? { errorCode } : {}) }, { 'x-amz-function-error': 'Unhandled' });
    switch (outcome.kind) {
      case 'result':
        return jsonResponse(200, outcome.value ?? null);
      case 'error':
        if (!isBlindsightError(outcome.error)) {
          log.event({ level: 'error', account: options.account, msg: 'function error', function: name, errorType: outcome.errorType, errorMessage: outcome.errorMessage });
        }
        return functionError(outcome.errorType, outcome.errorMessage, isBlindsightError(outcome.error) ? outcome.error.code : undefined);
      case 'timeout':
        return functionError('Sandbox.Timedout', `Task timed out after ${(options.timeoutMs / 1000).toFixed(2)} seconds`);
      case 'event-too-large':
        return serviceError(413, 'RequestTooLargeException', `Request must be smaller than ${LAMBDA_MAX_SYNC_PAYLOAD_BYTES} bytes for the InvokeFunction operation`);
      case 'response-too-large':
        log.event({ level: 'error', account: options.account, msg: 'function response exceeds the Lambda payload limit', function: name, bytes: outcome.bytes });
        return functionError('Function.ResponseSizeTooLarge', 'Response payload size exceeded maximum allowed payload size');
      case 'load-failed':
        log.event({ level: 'error', account: options.account, msg: 'function could not be loaded', function: name, errorType: outcome.errorType, errorMessage: outcome.errorMessage });
        return functionError('Runtime.ImportModuleError', `${name} could not be loaded; see the account log`);
    }
  };

  return (req, res) => {
    answer(req).then(
      (response) => sendResponse(res, req.method ?? 'POST', response, {}),
      (error: unknown) => {
        log.event({ level: 'error', account: options.account, msg: 'lambda invoke api failed', error: error instanceof Error ? error.message : String(error) });
        sendResponse(res, req.method ?? 'POST', serviceError(500, 'ServiceException', 'internal error'), {});
      },
    );
  };
}
