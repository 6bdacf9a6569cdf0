/**
 * API Gateway REST API proxy events and Lambda contexts for calling handlers directly, shaped
 * like what API Gateway sends: header names as the client wrote them (single and multi-value),
 * the route's resource path, path parameters, a string body, and `requestContext.authorizer`
 * with `principalId` and the context the authorizer returned.
 *
 *   const event = httpEvent('POST /v1/owners/{ownerId}/indexes/{indexName}/search', {
 *     pathParameters: { ownerId, indexName }, body: { trapdoors, k: 5 }, caller: { ownerId, role: 'owner' },
 *   });
 *   const response = await handler(event, lambdaContext());
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
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

export const TEST_STAGE = 'prod';
export const TEST_API_ID = 'abc123';

export function httpEvent(routeKey: string, options: HttpEventOptions = {}): APIGatewayProxyEvent {
  const [method, path] = routeKey.split(' ');
  const pathParameters = options.pathParameters ?? {};
  const rawPath = rawPathOf(path, pathParameters);
  const headers: Record<string, string> = {
    Host: `${TEST_API_ID}.execute-api.eu-west-1.amazonaws.com`,
    'User-Agent': 'vitest',
    'X-Forwarded-For': '127.0.0.1',
    'X-Forwarded-Proto': 'https',
    ...(options.headers ?? {}),
  };
  let body: string | null = null;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    if (options.contentType !== null) headers['Content-Type'] = options.contentType ?? 'application/json';
    if (options.base64) body = Buffer.from(body).toString('base64');
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  const now = new Date();
  const requestId = randomBytes(16).toString('hex');
  const authorizer = options.caller
    ? {
        principalId: options.caller.userId ? `${options.caller.ownerId}/${options.caller.userId}` : options.caller.ownerId,
        integrationLatency: '1',
        ownerId: options.caller.ownerId,
        role: options.caller.role,
        ...(options.caller.userId ? { userId: options.caller.userId } : {}),
      }
    : null;
  return {
    resource: path,
    path: rawPath,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: Object.keys(pathParameters).length > 0 ? { ...pathParameters } : null,
    stageVariables: null,
    requestContext: {
      accountId: '000000000001',
      apiId: TEST_API_ID,
      // Only routes behind the authorizer carry its context.
      authorizer,
      domainName: headers.Host,
      domainPrefix: TEST_API_ID,
      extendedRequestId: requestId,
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '127.0.0.1',
        user: null,
        userAgent: 'vitest',
        userArn: null,
      },
      path: `/${TEST_STAGE}${rawPath}`,
      protocol: 'HTTP/1.1',
      requestId,
      requestTime: now.toUTCString(),
      requestTimeEpoch: now.getTime(),
      resourceId: 'res123',
      resourcePath: path,
      stage: TEST_STAGE,
    },
    body,
    isBase64Encoded: options.base64 ?? false,
  };
}

/** The REQUEST authorizer event for a route, with an optional Authorization header. */
export function authorizerEvent(routeKey: string, authorization?: string, pathParameters: Record<string, string> = {}): APIGatewayRequestAuthorizerEvent {
  const base = httpEvent(routeKey, { pathParameters, headers: authorization === undefined ? {} : { Authorization: authorization } });
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:eu-west-1:000000000001:${TEST_API_ID}/${TEST_STAGE}/${base.httpMethod}${base.path}`,
    resource: base.resource,
    path: base.path,
    httpMethod: base.httpMethod,
    headers: base.headers,
    multiValueHeaders: base.multiValueHeaders,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: base.pathParameters,
    stageVariables: null,
    requestContext: { ...base.requestContext, authorizer: undefined },
  };
}

/** Whether an authorizer result allows the method: an Allow statement, no Deny. */
export function isAllowed(result: { policyDocument?: { Statement?: Array<{ Effect?: string }> } }): boolean {
  const statements = result.policyDocument?.Statement ?? [];
  return statements.some((s) => s.Effect === 'Allow') && !statements.some((s) => s.Effect === 'Deny');
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
export function parseResponse(result: unknown): { statusCode: number; headers: Record<string, string>; body: Record<string, unknown>; bytes?: Uint8Array } {
  const response = result as APIGatewayProxyResult;
  // A binary answer (base64 with isBase64Encoded): its bytes, for the test to decode.
  if (response.isBase64Encoded === true) {
    return { statusCode: response.statusCode ?? 200, headers: (response.headers ?? {}) as Record<string, string>, body: {}, bytes: new Uint8Array(Buffer.from(response.body ?? '', 'base64')) };
  }
  return {
    statusCode: response.statusCode ?? 200,
    headers: (response.headers ?? {}) as Record<string, string>,
    body: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {},
  };
}
