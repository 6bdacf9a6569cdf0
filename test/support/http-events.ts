/**
 * API Gateway HTTP API (payload 2.0) events and Lambda contexts for calling handlers directly,
 * shaped like what API Gateway sends: lower-case headers, the matched route key, path
 * parameters, a string body, and `requestContext.authorizer.lambda` with the context the
 * authorizer returned.
 *
 *   const event = httpEvent('POST /v1/owners/{ownerId}/indexes/{indexName}/search', {
 *     pathParameters: { ownerId, indexName }, body: { trapdoors, k: 5 }, caller: { ownerId, role: 'owner' },
 *   });
 *   const response = await handler(event, lambdaContext());
 */
import type {
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayProxyStructuredResultV2,
  APIGatewayRequestAuthorizerEventV2,
  Context,
} from 'aws-lambda';
import { randomBytes } from 'node:crypto';

export interface CallerContextInput {
  readonly ownerId: string;
  readonly role: 'owner' | 'user';
  readonly userId?: string;
}

export interface HttpEventOptions {
  readonly pathParameters?: Record<string, string>;
  /** An object is sent as JSON; a string as is (e.g. malformed JSON); undefined: no body. */
  readonly body?: unknown;
  /** Default application/json when there is a body; null to send none. */
  readonly contentType?: string | null;
  readonly headers?: Record<string, string>;
  /** The authorizer's context; omit for routes without authorization. */
  readonly caller?: CallerContextInput;
  readonly base64?: boolean;
}

/** Fills `{name}` segments of a route path with the path parameters. */
function rawPathOf(path: string, parameters: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(parameters[name] ?? ''));
}

export function httpEvent(routeKey: string, options: HttpEventOptions = {}): APIGatewayProxyEventV2WithLambdaAuthorizer<Record<string, string>> {
  const [method, path] = routeKey.split(' ');
  const pathParameters = options.pathParameters ?? {};
  const rawPath = rawPathOf(path, pathParameters);
  const headers: Record<string, string> = {
    host: 'abc123.execute-api.eu-west-1.amazonaws.com',
    'user-agent': 'vitest',
    'x-forwarded-for': '127.0.0.1',
    'x-forwarded-proto': 'https',
    ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    if (options.contentType !== null) headers['content-type'] = options.contentType ?? 'application/json';
    if (options.base64) body = Buffer.from(body).toString('base64');
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const now = new Date();
  const requestId = randomBytes(10).toString('base64');
  const lambda: Record<string, string> | undefined = options.caller
    ? { ownerId: options.caller.ownerId, role: options.caller.role, ...(options.caller.userId ? { userId: options.caller.userId } : {}) }
    : undefined;
  const event = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '000000000001',
      apiId: 'abc123',
      domainName: headers.host,
      domainPrefix: 'abc123',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId,
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      // Only routes behind the authorizer carry its context.
      ...(lambda ? { authorizer: { lambda } } : {}),
    },
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters: { ...pathParameters } } : {}),
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: options.base64 ?? false,
  };
  return event as APIGatewayProxyEventV2WithLambdaAuthorizer<Record<string, string>>;
}

/** The REQUEST authorizer event (payload 2.0) for a route, with an optional Authorization header. */
export function authorizerEvent(routeKey: string, authorization?: string, pathParameters: Record<string, string> = {}): APIGatewayRequestAuthorizerEventV2 {
  const base = httpEvent(routeKey, { pathParameters, headers: authorization === undefined ? {} : { authorization } });
  const { authorizer: _none, ...requestContext } = base.requestContext as typeof base.requestContext & { authorizer?: unknown };
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:eu-west-1:000000000001:abc123/$default/${routeKey.replace(' ', '')}`,
    identitySource: authorization === undefined ? [] : [authorization],
    routeKey,
    rawPath: base.rawPath,
    rawQueryString: '',
    cookies: [],
    headers: base.headers,
    requestContext,
    ...(base.pathParameters ? { pathParameters: base.pathParameters } : {}),
  };
}

export function lambdaContext(functionName = 'blindsight-cs1-test'): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:000000000001:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomBytes(16).toString('hex'),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 29_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A handler's structured response with its JSON body parsed. */
export function parseResponse(result: unknown): { statusCode: number; headers: Record<string, string>; body: Record<string, unknown> } {
  const response = result as APIGatewayProxyStructuredResultV2;
  return {
    statusCode: response.statusCode ?? 200,
    headers: (response.headers ?? {}) as Record<string, string>,
    body: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {},
  };
}
