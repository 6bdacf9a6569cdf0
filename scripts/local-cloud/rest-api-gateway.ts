/**
 * The local stand-in for CS1's API Gateway REST API with Lambda proxy integrations and a
 * Lambda REQUEST authorizer, configured the same way as the CDK stack: routes from the contract
 * (lib/api/routes.ts), identity source the Authorization header (missing: 401 before the
 * authorizer runs), the authorizer's IAM policy evaluated against the method ARN (Deny: 403),
 * no result caching, CORS preflights answered by the gateway for the configured origins, the
 * gateway responses of the stack (404 for an unknown route, 503 when the authorizer fails), and
 * the service limits of REST APIs and Lambda.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS, CORS_MAX_AGE_SECONDS, isAllowedOrigin } from '../../lib/api/cors';
import { acceptsBinary } from '../../lib/api/media-types';
import type { RouteDefinition } from '../../lib/api/routes';
import { API_FUNCTION_TIMEOUT_MS, REST_API_INTEGRATION_TIMEOUT_MS } from '../../cdk/timeouts';
import { LAMBDA_MAX_SYNC_PAYLOAD_BYTES, LOCAL_FUNCTION_MEMORY_MB, REST_API_MAX_REQUEST_BYTES } from './aws-limits';
import type { FunctionRuntime, InvocationOutcome } from './function-invoker';
import { inProcessRuntime } from './function-invoker';
import type { GatewayLog } from './gateway-log';
import { jsonLineLog } from './gateway-log';
import { headerValue, readBody, toGatewayRequest } from './http-request';
import type { GatewayRequest } from './http-request';
import { sendResponse } from './http-server';
import type { HandlerLoader } from './lambda-runtime';
import type { GatewayResponseKind, HttpResponse } from './lambda-response';
import { convertProxyResult, gatewayCorsHeaders, gatewayResponse, isRecord } from './lambda-response';
import type { AuthorizerContext, EventParts, GatewayIdentity } from './rest-api-event';
import { buildAuthorizerEvent, buildIntegrationEvent, eventParts, methodArnOf, newApiGatewayRequestId } from './rest-api-event';
import type { RouteMatch } from './route-matcher';
import { RouteMatcher } from './route-matcher';

/** What the gateway needs of a route. */
export type GatewayRoute = Pick<RouteDefinition, 'method' | 'path' | 'handler' | 'auth'>;

export interface GatewayLimits {
  readonly maxRequestBytes: number;
  readonly maxLambdaPayloadBytes: number;
  readonly integrationTimeoutMs: number;
  readonly functionTimeoutMs: number;
  readonly functionMemoryMb: number;
}

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = {
  maxRequestBytes: REST_API_MAX_REQUEST_BYTES,
  maxLambdaPayloadBytes: LAMBDA_MAX_SYNC_PAYLOAD_BYTES,
  integrationTimeoutMs: REST_API_INTEGRATION_TIMEOUT_MS,
  functionTimeoutMs: API_FUNCTION_TIMEOUT_MS,
  functionMemoryMb: LOCAL_FUNCTION_MEMORY_MB,
};

export interface RestApiGatewayOptions {
  /** Label of the account in log lines, e.g. `cs1`. */
  readonly account: string;
  readonly identity: GatewayIdentity;
  readonly routes: readonly GatewayRoute[];
  /** Handler module of the Lambda authorizer used by every route whose auth is not `none`. */
  readonly authorizerHandler: string;
  /** The authorizer's identity source header. Default `Authorization`. */
  readonly identityHeader?: string;
  /**
   * Runs the invocations: execution environments (the local cloud), or, when only
   * `loadHandler` is given, the handlers it loads in this thread (tests).
   */
  readonly runtime?: FunctionRuntime;
  readonly loadHandler?: HandlerLoader;
  /** Lambda function name of a handler module (shown in the context and logs). */
  readonly functionName?: (handler: string) => string;
  /** Origins whose pages may call the API (CORS preflights and gateway responses); default none. */
  readonly corsOrigins?: readonly string[];
  readonly limits?: Partial<GatewayLimits>;
  readonly log?: GatewayLog;
}

/** `cs1/search` -> `blindsight-cs1-search`. */
export function defaultFunctionName(handler: string): string {
  return `blindsight-${handler.replaceAll('/', '-')}`;
}

type Answer = { readonly response: HttpResponse; readonly route: string; readonly reason?: string };

type PolicyVerdict = 'allow' | 'deny' | 'malformed';

/** IAM-style `*` and `?` wildcards of execute-api resource ARNs. */
function arnMatches(pattern: string, arn: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${regex}$`).test(arn);
}

/**
 * The authorizer's policy for one method ARN, as API Gateway evaluates it: an explicit Deny
 * wins, then an Allow is needed; anything else denies.
 */
export function evaluatePolicy(policyDocument: unknown, methodArn: string): PolicyVerdict {
  if (!isRecord(policyDocument) || !Array.isArray(policyDocument.Statement)) return 'malformed';
  let allowed = false;
  for (const statement of policyDocument.Statement as unknown[]) {
    if (!isRecord(statement)) return 'malformed';
    const { Effect, Action, Resource } = statement;
    if (Effect !== 'Allow' && Effect !== 'Deny') return 'malformed';
    const actions = Array.isArray(Action) ? Action : [Action];
    const resources = Array.isArray(Resource) ? Resource : [Resource];
    if (actions.some((a) => typeof a !== 'string') || resources.some((r) => typeof r !== 'string')) return 'malformed';
    const applies =
      (actions as string[]).some((a) => ['execute-api:invoke', 'execute-api:*', '*'].includes(a.toLowerCase())) &&
      (resources as string[]).some((r) => arnMatches(r, methodArn));
    if (!applies) continue;
    if (Effect === 'Deny') return 'deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'deny';
}

export function createRestApiGateway(options: RestApiGatewayOptions): RequestListener {
  const matcher = new RouteMatcher(options.routes);
  const limits = { ...DEFAULT_GATEWAY_LIMITS, ...options.limits };
  const log = options.log ?? jsonLineLog();
  const functionName = options.functionName ?? defaultFunctionName;
  const identityHeader = (options.identityHeader ?? 'Authorization').toLowerCase();
  const origins = options.corsOrigins ?? [];
  const runtime = options.runtime ?? (options.loadHandler ? inProcessRuntime(options.loadHandler) : undefined);
  if (runtime === undefined) throw new Error('createRestApiGateway needs a runtime or a loadHandler');

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

  const answer = async (req: IncomingMessage, requestId: string, receivedAt: Date): Promise<Answer> => {
    const probe = toGatewayRequest(req, Buffer.alloc(0), receivedAt);
    const origin = headerValue(probe.rawHeaders, 'origin');
    const gatewayError = (kind: GatewayResponseKind, route: string, reason: string, headers: Record<string, string> = {}): Answer => ({
      response: gatewayResponse(kind, requestId, { ...gatewayCorsHeaders(origins, origin), ...headers }),
      route,
      reason,
    });

    /** Maps a failed invocation to API Gateway's answer, logging the detail the client never sees. */
    const invocationFailure = (handler: string, outcome: Exclude<InvocationOutcome, { kind: 'result' }>, route: string, authorizer: boolean): Answer => {
      const failed = authorizer ? 'authorizerFailure' : 'badGateway';
      switch (outcome.kind) {
        case 'event-too-large':
          return gatewayError('payloadTooLarge', route, 'lambda-request-payload-limit');
        case 'timeout':
          return gatewayError(authorizer ? 'authorizerFailure' : 'integrationTimeout', route, 'integration-timeout');
        case 'response-too-large':
          log.event({ level: 'error', account: options.account, msg: 'function response exceeds the Lambda payload limit', function: functionName(handler), bytes: outcome.bytes });
          return gatewayError(failed, route, 'lambda-response-payload-limit');
        case 'load-failed':
          log.event({ level: 'error', account: options.account, msg: 'function could not be loaded', function: functionName(handler), errorType: outcome.errorType, errorMessage: outcome.errorMessage });
          return gatewayError(failed, route, 'function-load-failed');
        case 'error':
          if (authorizer && outcome.errorMessage === 'Unauthorized') return gatewayError('unauthorized', route, 'authorizer-unauthorized');
          log.event({ level: 'error', account: options.account, msg: 'function error', function: functionName(handler), errorType: outcome.errorType, errorMessage: outcome.errorMessage });
          return gatewayError(failed, route, 'function-error');
      }
    };

    /** Runs the authorizer: the context handed to the route when allowed, or the gateway's refusal. */
    const authorize = async (
      request: GatewayRequest,
      match: RouteMatch,
      parts: EventParts,
    ): Promise<{ allowed: true; context: AuthorizerContext } | { allowed: false; answer: Answer }> => {
      const refuse = (refusal: Answer) => ({ allowed: false as const, answer: refusal });
      const identity = headerValue(request.rawHeaders, identityHeader);
      // A missing or empty identity source is refused before the authorizer runs, with 401.
      if (identity === undefined || identity.trim() === '') return refuse(gatewayError('unauthorized', match.routeKey, 'missing-identity-source'));
      const event = buildAuthorizerEvent(request, { resource: match.route.path, pathParameters: match.pathParameters }, options.identity, requestId, parts);
      const started = performance.now();
      const outcome = await invoke(options.authorizerHandler, event);
      if (outcome.kind !== 'result') return refuse(invocationFailure(options.authorizerHandler, outcome, match.routeKey, true));
      const result = outcome.value;
      const malformed = (problem: string) => {
        log.event({ level: 'error', account: options.account, msg: `authorizer returned a malformed result: ${problem}`, function: functionName(options.authorizerHandler) });
        return refuse(gatewayError('authorizerFailure', match.routeKey, 'authorizer-malformed-response'));
      };
      if (!isRecord(result) || typeof result.principalId !== 'string') return malformed('no principalId');
      const context = result.context ?? {};
      if (!isRecord(context) || Object.values(context).some((v) => v !== null && !['string', 'number', 'boolean'].includes(typeof v))) {
        return malformed('context values must be strings, numbers or booleans');
      }
      const verdict = evaluatePolicy(result.policyDocument, methodArnOf(request, options.identity));
      if (verdict === 'malformed') return malformed('policyDocument is not a valid IAM policy');
      if (verdict === 'deny') return refuse(gatewayError('accessDenied', match.routeKey, 'authorizer-denied'));
      const handedOn: AuthorizerContext = { principalId: result.principalId, integrationLatency: String(Math.round(performance.now() - started)) };
      for (const [name, value] of Object.entries(context)) if (value !== null) handedOn[name] = String(value);
      return { allowed: true, context: handedOn };
    };

    /** The gateway's answer to a CORS preflight (a MOCK integration in AWS). */
    const preflight = (match: { routeKey: string }): Answer => {
      const headers: Record<string, string> = { vary: 'Origin' };
      if (isAllowedOrigin(origin, origins)) {
        headers['access-control-allow-origin'] = origin as string;
        headers['access-control-allow-headers'] = CORS_ALLOWED_HEADERS.join(',');
        headers['access-control-allow-methods'] = CORS_ALLOWED_METHODS.join(',');
        headers['access-control-max-age'] = String(CORS_MAX_AGE_SECONDS);
      }
      return { response: { statusCode: 204, headers, multiValueHeaders: {}, body: Buffer.alloc(0) }, route: match.routeKey, reason: 'cors-preflight' };
    };

    let match = matcher.lookup(probe.method, probe.rawPath);
    if (match.kind === 'method-not-allowed' && probe.method === 'OPTIONS' && origins.length > 0) {
      req.resume();
      return preflight({ routeKey: `OPTIONS ${probe.rawPath}` });
    }
    if (match.kind !== 'match') {
      req.resume();
      // AWS answers 404 for both (the stack's MISSING_AUTHENTICATION_TOKEN response); the
      // local gateway tells a wrong method apart (405 + Allow).
      return match.kind === 'not-found'
        ? gatewayError('notFound', '-', 'no-route')
        : gatewayError('methodNotAllowed', '-', 'no-route-for-method', { allow: match.allowedMethods.join(', ') });
    }
    const read = await readBody(req, limits.maxRequestBytes);
    if (!read.ok) return gatewayError('payloadTooLarge', match.routeKey, 'rest-api-payload-limit', { connection: 'close' });
    const request: GatewayRequest = { ...probe, body: read.body };
    match = match as RouteMatch;

    const target = { resource: match.route.path, pathParameters: match.pathParameters };
    const parts = eventParts(request, target, options.identity, requestId);
    let authorizer: AuthorizerContext | undefined;
    if (match.route.auth !== 'none') {
      const authorized = await authorize(request, match, parts);
      if (!authorized.allowed) return authorized.answer;
      authorizer = authorized.context;
    }

    const event = buildIntegrationEvent(request, target, options.identity, requestId, authorizer, parts);
    const outcome = await invoke(match.route.handler, event);
    if (outcome.kind !== 'result') return invocationFailure(match.route.handler, outcome, match.routeKey, false);
    const converted = convertProxyResult(outcome.value, acceptsBinary(headerValue(request.rawHeaders, 'accept')));
    if (!converted.ok) {
      log.event({ level: 'error', account: options.account, msg: `malformed Lambda proxy response: ${converted.problem}`, function: functionName(match.route.handler) });
      return gatewayError('badGateway', match.routeKey, 'malformed-integration-response');
    }
    return { response: converted.response, route: match.routeKey };
  };

  return (req: IncomingMessage, res: ServerResponse) => {
    const receivedAt = new Date();
    const started = performance.now();
    const requestId = newApiGatewayRequestId();
    const finish = (result: Answer) => {
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
    answer(req, requestId, receivedAt).then(finish, (error: unknown) => {
      log.event({ level: 'error', account: options.account, msg: 'gateway failure', errorType: error instanceof Error ? error.name : 'Error' });
      finish({ response: gatewayResponse('badGateway', requestId), route: '-', reason: 'gateway-failure' });
    });
  };
}
