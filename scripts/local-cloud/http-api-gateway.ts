/**
 * The local stand-in for an API Gateway HTTP API with Lambda proxy integrations (payload 2.0)
 * and a Lambda REQUEST authorizer with simple responses and no result caching, configured the
 * same way as the CDK stack: routes from the shared route table, identity source
 * `$request.header.Authorization`, the service limits of HTTP APIs and Lambda.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { RouteDefinition } from '../../functions/routes';
import { API_FUNCTION_TIMEOUT_MS } from '../../cdk/timeouts';
import {
  HTTP_API_INTEGRATION_TIMEOUT_MS,
  HTTP_API_MAX_REQUEST_BYTES,
  LAMBDA_MAX_SYNC_PAYLOAD_BYTES,
  LOCAL_FUNCTION_MEMORY_MB,
} from './aws-limits';
import type { FunctionRuntime, InvocationOutcome } from './function-invoker';
import { inProcessRuntime } from './function-invoker';
import type { GatewayLog } from './gateway-log';
import { jsonLineLog } from './gateway-log';
import type { AuthorizerContext, EventParts, GatewayIdentity } from './http-api-event';
import { buildAuthorizerEvent, buildIntegrationEvent, eventParts, newApiGatewayRequestId } from './http-api-event';
import { headerValue, readBody, toGatewayRequest } from './http-request';
import type { GatewayRequest } from './http-request';
import { sendResponse } from './http-server';
import type { HandlerLoader } from './lambda-runtime';
import type { GatewayErrorKind, HttpResponse } from './lambda-response';
import { convertLambdaResult, gatewayErrorResponse, isRecord } from './lambda-response';
import type { RouteMatch } from './route-matcher';
import { RouteMatcher } from './route-matcher';

export interface GatewayLimits {
  readonly maxRequestBytes: number;
  readonly maxLambdaPayloadBytes: number;
  readonly integrationTimeoutMs: number;
  readonly functionTimeoutMs: number;
  readonly functionMemoryMb: number;
}

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = {
  maxRequestBytes: HTTP_API_MAX_REQUEST_BYTES,
  maxLambdaPayloadBytes: LAMBDA_MAX_SYNC_PAYLOAD_BYTES,
  integrationTimeoutMs: HTTP_API_INTEGRATION_TIMEOUT_MS,
  functionTimeoutMs: API_FUNCTION_TIMEOUT_MS,
  functionMemoryMb: LOCAL_FUNCTION_MEMORY_MB,
};

export interface HttpApiGatewayOptions {
  /** Label of the account in log lines, e.g. `cs1`. */
  readonly account: string;
  readonly identity: GatewayIdentity;
  readonly routes: readonly RouteDefinition[];
  /** Handler module of the Lambda authorizer used by every route whose auth is not `none`. */
  readonly authorizerHandler: string;
  /**
   * Runs the invocations: execution environments (the local cloud), or, when only
   * `loadHandler` is given, the handlers it loads in this thread (tests).
   */
  readonly runtime?: FunctionRuntime;
  readonly loadHandler?: HandlerLoader;
  /** Lambda function name of a handler module (shown in the context and logs). */
  readonly functionName?: (handler: string) => string;
  readonly limits?: Partial<GatewayLimits>;
  readonly log?: GatewayLog;
}

/** `cs1/search` -> `blindsight-cs1-search`. */
export function defaultFunctionName(handler: string): string {
  return `blindsight-${handler.replaceAll('/', '-')}`;
}

type Answer = { readonly response: HttpResponse; readonly route: string; readonly reason?: string };

export function createHttpApiGateway(options: HttpApiGatewayOptions): RequestListener {
  const matcher = new RouteMatcher(options.routes);
  const limits = { ...DEFAULT_GATEWAY_LIMITS, ...options.limits };
  const log = options.log ?? jsonLineLog();
  const functionName = options.functionName ?? defaultFunctionName;
  const runtime = options.runtime ?? (options.loadHandler ? inProcessRuntime(options.loadHandler) : undefined);
  if (runtime === undefined) throw new Error('createHttpApiGateway needs a runtime or a loadHandler');

  const gatewayError = (kind: GatewayErrorKind, route: string, reason: string, headers: Record<string, string> = {}): Answer => ({
    response: gatewayErrorResponse(kind, headers),
    route,
    reason,
  });

  const invoke = (handler: string, event: unknown): Promise<InvocationOutcome> =>
    runtime({
      handler,
      event,
      maxPayloadBytes: limits.maxLambdaPayloadBytes,
      callerTimeoutMs: limits.integrationTimeoutMs,
      fn: {
        functionName: functionName(handler),
        accountId: options.identity.accountId,
        region: options.identity.region,
        timeoutMs: limits.functionTimeoutMs,
        memoryMb: limits.functionMemoryMb,
      },
    });

  /** Maps a failed invocation to API Gateway's answer, logging the detail the client never sees. */
  const invocationFailure = (handler: string, outcome: Exclude<InvocationOutcome, { kind: 'result' }>, route: string): Answer => {
    switch (outcome.kind) {
      case 'event-too-large':
        return gatewayError('payloadTooLarge', route, 'lambda-request-payload-limit');
      case 'timeout':
        return gatewayError('unavailable', route, 'integration-timeout');
      case 'response-too-large':
        log.event({ level: 'error', account: options.account, msg: 'function response exceeds the Lambda payload limit', function: functionName(handler), bytes: outcome.bytes });
        return gatewayError('internal', route, 'lambda-response-payload-limit');
      case 'load-failed':
        log.event({ level: 'error', account: options.account, msg: 'function could not be loaded', function: functionName(handler), errorType: outcome.errorType, errorMessage: outcome.errorMessage });
        return gatewayError('internal', route, 'function-load-failed');
      case 'error':
        log.event({ level: 'error', account: options.account, msg: 'function error', function: functionName(handler), errorType: outcome.errorType, errorMessage: outcome.errorMessage });
        return gatewayError('internal', route, 'function-error');
    }
  };

  /** Runs the authorizer: an authorizer context when allowed, or the gateway's refusal. */
  const authorize = async (
    request: GatewayRequest,
    match: RouteMatch,
    requestId: string,
    parts: EventParts,
  ): Promise<{ allowed: true; context: AuthorizerContext } | { allowed: false; answer: Answer }> => {
    const refuse = (answer: Answer) => ({ allowed: false as const, answer });
    const authorization = headerValue(request.rawHeaders, 'authorization');
    // An empty identity source is refused before the authorizer runs, with 401.
    if (authorization === undefined || authorization.trim() === '') return refuse(gatewayError('unauthorized', match.routeKey, 'missing-identity-source'));
    const event = buildAuthorizerEvent(request, match, options.identity, requestId, [authorization], parts);
    const outcome = await invoke(options.authorizerHandler, event);
    if (outcome.kind !== 'result') return refuse(invocationFailure(options.authorizerHandler, outcome, match.routeKey));
    const result = outcome.value;
    if (!isRecord(result) || typeof result.isAuthorized !== 'boolean' || (result.context !== undefined && !isRecord(result.context))) {
      log.event({ level: 'error', account: options.account, msg: 'authorizer returned a malformed simple response', function: functionName(options.authorizerHandler) });
      return refuse(gatewayError('internal', match.routeKey, 'authorizer-malformed-response'));
    }
    if (!result.isAuthorized) return refuse(gatewayError('forbidden', match.routeKey, 'authorizer-denied'));
    return { allowed: true, context: (result.context as AuthorizerContext | undefined) ?? {} };
  };

  const answer = async (req: IncomingMessage, requestId: string, receivedAt: Date): Promise<Answer> => {
    const probe = toGatewayRequest(req, Buffer.alloc(0), receivedAt);
    const match = matcher.lookup(probe.method, probe.rawPath);
    if (match.kind !== 'match') {
      req.resume();
      // API Gateway answers 404 for both; the local gateway tells a wrong method apart (405 + Allow).
      return match.kind === 'not-found'
        ? gatewayError('notFound', '-', 'no-route')
        : gatewayError('methodNotAllowed', '-', 'no-route-for-method', { allow: match.allowedMethods.join(', ') });
    }
    const read = await readBody(req, limits.maxRequestBytes);
    if (!read.ok) return gatewayError('payloadTooLarge', match.routeKey, 'http-api-payload-limit', { connection: 'close' });
    const request: GatewayRequest = { ...probe, body: read.body };

    const parts = eventParts(request, match, options.identity, requestId);
    let authorizer: AuthorizerContext | undefined;
    if (match.route.auth !== 'none') {
      const authorized = await authorize(request, match, requestId, parts);
      if (!authorized.allowed) return authorized.answer;
      authorizer = authorized.context;
    }

    const event = buildIntegrationEvent(request, match, options.identity, requestId, authorizer, parts);
    const outcome = await invoke(match.route.handler, event);
    if (outcome.kind !== 'result') return invocationFailure(match.route.handler, outcome, match.routeKey);
    const converted = convertLambdaResult(outcome.value);
    if (!converted.ok) {
      log.event({ level: 'error', account: options.account, msg: `malformed Lambda proxy response: ${converted.problem}`, function: functionName(match.route.handler) });
      return gatewayError('internal', match.routeKey, 'malformed-integration-response');
    }
    return { response: converted.response, route: match.routeKey };
  };

  return (req: IncomingMessage, res: ServerResponse) => {
    const receivedAt = new Date();
    const started = performance.now();
    const requestId = newApiGatewayRequestId();
    const finish = (result: Answer) => {
      sendResponse(res, req.method ?? 'GET', result.response, { 'apigw-requestid': requestId });
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
    answer(req, requestId, receivedAt).then(finish, (error: unknown) => {
      log.event({ level: 'error', account: options.account, msg: 'gateway failure', errorType: error instanceof Error ? error.name : 'Error' });
      finish(gatewayError('internal', '-', 'gateway-failure'));
    });
  };
}
