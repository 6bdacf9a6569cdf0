/**
 * Builds the events that API Gateway HTTP APIs send to Lambda with payload format 2.0: the
 * integration event (APIGatewayProxyEventV2, with `requestContext.authorizer.lambda` once a
 * Lambda authorizer allowed the request) and the REQUEST authorizer event.
 */
import type {
  APIGatewayEventRequestContextV2,
  APIGatewayProxyEventV2,
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayRequestAuthorizerEventV2,
} from 'aws-lambda';
import { randomFillSync } from 'node:crypto';
import type { GatewayRequest } from './http-request';

/** What API Gateway knows about itself: the account and API that received the request. */
export interface GatewayIdentity {
  readonly accountId: string;
  readonly region: string;
  readonly apiId: string;
}

/** The matched route of a request. */
export interface RouteTarget {
  readonly routeKey: string;
  readonly pathParameters: Readonly<Record<string, string>>;
}

export type AuthorizerContext = Record<string, unknown>;

export const STAGE = '$default';

/** Normalized request data shared by the authorizer and integration events of one request. */
export interface EventParts {
  readonly headers: Record<string, string>;
  readonly cookies: string[];
  readonly queryStringParameters: Record<string, string> | undefined;
  readonly requestContext: APIGatewayEventRequestContextV2;
}

/**
 * Request id in API Gateway's style (base64 of random bytes, e.g. `JKJaXmPLvHcESHA=`), also sent
 * back in the `apigw-requestid` response header.
 */
export function newApiGatewayRequestId(): string {
  return idBytes(10).toString('base64');
}

/**
 * Random bytes for request and trace ids, cut from a pool refilled 4 KiB at a time: one system
 * call per few hundred requests instead of two per request. The ids are unique, not secret.
 */
const ID_POOL = Buffer.alloc(4096);
let idPoolOffset = ID_POOL.length;

function idBytes(count: number): Buffer {
  if (idPoolOffset + count > ID_POOL.length) {
    randomFillSync(ID_POOL);
    idPoolOffset = 0;
  }
  idPoolOffset += count;
  return ID_POOL.subarray(idPoolOffset - count, idPoolOffset);
}

export function buildIntegrationEvent(
  request: GatewayRequest,
  route: RouteTarget,
  gateway: GatewayIdentity,
  requestId: string,
  authorizer?: AuthorizerContext,
  parts: EventParts = eventParts(request, route, gateway, requestId),
): APIGatewayProxyEventV2 | APIGatewayProxyEventV2WithLambdaAuthorizer<AuthorizerContext> {
  const body = encodeBody(request.body, parts.headers['content-type']);
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: request.rawPath,
    rawQueryString: request.rawQueryString,
    ...(parts.cookies.length > 0 ? { cookies: [...parts.cookies] } : {}),
    headers: { ...parts.headers },
    ...(parts.queryStringParameters ? { queryStringParameters: { ...parts.queryStringParameters } } : {}),
    requestContext: { ...parts.requestContext },
    ...(Object.keys(route.pathParameters).length > 0 ? { pathParameters: { ...route.pathParameters } } : {}),
    ...(body.body !== undefined ? { body: body.body } : {}),
    isBase64Encoded: body.isBase64Encoded,
  };
  if (authorizer === undefined) return event;
  return { ...event, requestContext: { ...parts.requestContext, authorizer: { lambda: authorizer } } };
}

/**
 * The REQUEST authorizer event (payload 2.0). `identitySource` holds the values of the
 * configured identity sources: here the Authorization header.
 */
export function buildAuthorizerEvent(
  request: GatewayRequest,
  route: RouteTarget,
  gateway: GatewayIdentity,
  requestId: string,
  identitySource: readonly string[],
  parts: EventParts = eventParts(request, route, gateway, requestId),
): APIGatewayRequestAuthorizerEventV2 {
  const event: APIGatewayRequestAuthorizerEventV2 = {
    version: '2.0',
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:${gateway.region}:${gateway.accountId}:${gateway.apiId}/${STAGE}/${request.method}${request.rawPath}`,
    identitySource: [...identitySource],
    routeKey: route.routeKey,
    rawPath: request.rawPath,
    rawQueryString: request.rawQueryString,
    cookies: [...parts.cookies],
    headers: { ...parts.headers },
    requestContext: { ...parts.requestContext },
  };
  if (parts.queryStringParameters) event.queryStringParameters = { ...parts.queryStringParameters };
  if (Object.keys(route.pathParameters).length > 0) event.pathParameters = { ...route.pathParameters };
  return event;
}

/**
 * What the authorizer and integration events of one request share: computed once per request,
 * so both carry the same headers and the same trace id, as in API Gateway.
 */
export function eventParts(request: GatewayRequest, route: RouteTarget, gateway: GatewayIdentity, requestId: string): EventParts {
  const { headers, cookies } = normalizeHeaders(request);
  const domainName = headers['host'] ?? `${gateway.apiId}.execute-api.${gateway.region}.amazonaws.com`;
  const requestContext: APIGatewayEventRequestContextV2 = {
    accountId: gateway.accountId,
    apiId: gateway.apiId,
    domainName,
    domainPrefix: domainName.split('.')[0].split(':')[0],
    http: {
      method: request.method,
      path: request.rawPath,
      protocol: request.protocol,
      sourceIp: request.sourceIp,
      userAgent: headers['user-agent'] ?? '',
    },
    requestId,
    routeKey: route.routeKey,
    stage: STAGE,
    time: formatRequestTime(request.receivedAt),
    timeEpoch: request.receivedAt.getTime(),
  };
  return { headers, cookies, queryStringParameters: parseQueryString(request.rawQueryString), requestContext };
}

/**
 * Lower-cases header names and joins duplicates with commas (payload 2.0 has no multi-value
 * headers). Cookies move to their own array, one entry per cookie. Adds the forwarding headers
 * API Gateway adds in front of every integration.
 */
export function normalizeHeaders(request: GatewayRequest): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i].toLowerCase();
    const value = request.rawHeaders[i + 1];
    if (name === 'cookie') {
      for (const cookie of value.split(';')) {
        const trimmed = cookie.trim();
        if (trimmed.length > 0) cookies.push(trimmed);
      }
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${request.sourceIp}` : request.sourceIp;
  headers['x-forwarded-proto'] ??= 'http';
  const port = /:(\d+)$/.exec(headers['host'] ?? '');
  if (port) headers['x-forwarded-port'] ??= port[1];
  headers['x-amzn-trace-id'] ??= newTraceId(request.receivedAt);
  if (request.body.length > 0) {
    // API Gateway buffers the body, so the integration sees its length even for chunked uploads.
    headers['content-length'] = String(request.body.length);
    delete headers['transfer-encoding'];
  }
  return { headers, cookies };
}

/** Decoded query parameters, duplicate names joined with commas; undefined when there are none. */
export function parseQueryString(rawQueryString: string): Record<string, string> | undefined {
  if (rawQueryString.length === 0) return undefined;
  const params: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    params[name] = name in params ? `${params[name]},${value}` : value;
  }
  return Object.keys(params).length === 0 ? undefined : params;
}

/**
 * HTTP APIs pass text bodies as strings and everything else base64-encoded, judging by the
 * Content-Type header: a request without one counts as binary.
 */
export function encodeBody(body: Buffer, contentType: string | undefined): { body?: string; isBase64Encoded: boolean } {
  if (body.length === 0) return { isBase64Encoded: false };
  if (isTextContentType(contentType)) return { body: body.toString('utf8'), isBase64Encoded: false };
  return { body: body.toString('base64'), isBase64Encoded: true };
}

export function isTextContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  if (mediaType.startsWith('text/')) return true;
  if (mediaType.endsWith('+json') || mediaType.endsWith('+xml')) return true;
  return ['application/json', 'application/xml', 'application/javascript', 'application/graphql'].includes(mediaType);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, the CLF-style time of `requestContext.time`. */
export function formatRequestTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/** X-Ray style trace header: `Root=1-<epoch seconds hex>-<96 random bits hex>`. */
function newTraceId(at: Date): string {
  return `Root=1-${Math.floor(at.getTime() / 1000).toString(16)}-${idBytes(12).toString('hex')}`;
}
