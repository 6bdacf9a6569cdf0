/**
 * Builds the events that API Gateway REST APIs send to Lambda: the proxy integration event
 * (APIGatewayProxyEvent, with `requestContext.authorizer` once the Lambda authorizer allowed
 * the request) and the REQUEST authorizer event.
 */
import type { APIGatewayEventRequestContext, APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { randomFillSync } from 'node:crypto';
import { isBinaryContent } from '../../lib/api/media-types';
import type { GatewayRequest } from './http-request';
import { headerValue } from './http-request';

/** What API Gateway knows about itself: the account, API and stage that received the request. */
export interface GatewayIdentity {
  readonly accountId: string;
  readonly region: string;
  readonly apiId: string;
  /** Default `prod`, as in the CDK stack. */
  readonly stage?: string;
}

/** The matched route of a request. */
export interface RouteTarget {
  /** The route's path template, e.g. `/v1/owners/{ownerId}` (REST's `resource`). */
  readonly resource: string;
  readonly pathParameters: Readonly<Record<string, string>>;
}

/** What the authorizer handed on: `principalId` plus its context, values as strings. */
export type AuthorizerContext = Record<string, string>;

export const DEFAULT_STAGE = 'prod';

/** Normalized request data shared by the authorizer and integration events of one request. */
export interface EventParts {
  readonly headers: Record<string, string>;
  readonly multiValueHeaders: Record<string, string[]>;
  readonly queryStringParameters: Record<string, string> | null;
  readonly multiValueQueryStringParameters: Record<string, string[]> | null;
  readonly requestContext: APIGatewayEventRequestContext;
}

/**
 * Request id in API Gateway's style (a UUID for REST APIs), also sent back in the
 * `x-amzn-requestid` response header.
 */
export function newApiGatewayRequestId(): string {
  const b = idBytes(16);
  const hex = Buffer.from(b).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
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

export function stageOf(gateway: GatewayIdentity): string {
  return gateway.stage ?? DEFAULT_STAGE;
}

/** The ARN of the method a request invokes: what the authorizer's policy is checked against. */
export function methodArnOf(request: GatewayRequest, gateway: GatewayIdentity): string {
  return `arn:aws:execute-api:${gateway.region}:${gateway.accountId}:${gateway.apiId}/${stageOf(gateway)}/${request.method}${request.rawPath}`;
}

export function buildIntegrationEvent(
  request: GatewayRequest,
  route: RouteTarget,
  gateway: GatewayIdentity,
  requestId: string,
  authorizer?: AuthorizerContext,
  parts: EventParts = eventParts(request, route, gateway, requestId),
): APIGatewayProxyEvent {
  const hasParameters = Object.keys(route.pathParameters).length > 0;
  const binaryBody = request.body.length > 0 && isBinaryContent(headerValue(request.rawHeaders, 'content-type'));
  return {
    resource: route.resource,
    path: request.rawPath,
    httpMethod: request.method,
    headers: { ...parts.headers },
    multiValueHeaders: cloneMulti(parts.multiValueHeaders),
    queryStringParameters: parts.queryStringParameters ? { ...parts.queryStringParameters } : null,
    multiValueQueryStringParameters: parts.multiValueQueryStringParameters ? cloneMulti(parts.multiValueQueryStringParameters) : null,
    pathParameters: hasParameters ? { ...route.pathParameters } : null,
    stageVariables: null,
    requestContext: { ...parts.requestContext, ...(authorizer ? { authorizer: { ...authorizer } } : {}) },
    // A body of a binary media type reaches the function base64-encoded; any other as text.
    body: request.body.length > 0 ? request.body.toString(binaryBody ? 'base64' : 'utf8') : null,
    isBase64Encoded: binaryBody,
  };
}

/** The REQUEST authorizer event: the whole request except its body. */
export function buildAuthorizerEvent(
  request: GatewayRequest,
  route: RouteTarget,
  gateway: GatewayIdentity,
  requestId: string,
  parts: EventParts = eventParts(request, route, gateway, requestId),
): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: methodArnOf(request, gateway),
    resource: route.resource,
    path: request.rawPath,
    httpMethod: request.method,
    headers: { ...parts.headers },
    multiValueHeaders: cloneMulti(parts.multiValueHeaders),
    queryStringParameters: parts.queryStringParameters ? { ...parts.queryStringParameters } : null,
    multiValueQueryStringParameters: parts.multiValueQueryStringParameters ? cloneMulti(parts.multiValueQueryStringParameters) : null,
    pathParameters: Object.keys(route.pathParameters).length > 0 ? { ...route.pathParameters } : null,
    stageVariables: null,
    // The authorizer's own event has no authorizer context.
    requestContext: { ...parts.requestContext, authorizer: undefined },
  };
}

/**
 * What the authorizer and integration events of one request share: computed once per request,
 * so both carry the same headers, request id and trace id, as in API Gateway.
 */
export function eventParts(request: GatewayRequest, route: RouteTarget, gateway: GatewayIdentity, requestId: string): EventParts {
  const { headers, multiValueHeaders } = collectHeaders(request);
  const domainName = headerOf(headers, 'host') ?? `${gateway.apiId}.execute-api.${gateway.region}.amazonaws.com`;
  const stage = stageOf(gateway);
  const requestContext: APIGatewayEventRequestContext = {
    accountId: gateway.accountId,
    apiId: gateway.apiId,
    authorizer: null,
    domainName,
    domainPrefix: domainName.split('.')[0].split(':')[0],
    extendedRequestId: requestId,
    httpMethod: request.method,
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
      sourceIp: request.sourceIp,
      user: null,
      userAgent: headerOf(headers, 'user-agent') ?? null,
      userArn: null,
    },
    path: `/${stage}${request.rawPath}`,
    protocol: request.protocol,
    requestId,
    requestTime: formatRequestTime(request.receivedAt),
    requestTimeEpoch: request.receivedAt.getTime(),
    resourceId: resourceIdOf(route.resource),
    resourcePath: route.resource,
    stage,
  };
  const query = parseQueryString(request.rawQueryString);
  return { headers, multiValueHeaders, queryStringParameters: query.single, multiValueQueryStringParameters: query.multi, requestContext };
}

/**
 * Headers as a REST API passes them: names in the client's case, `headers` with the last value
 * of a repeated header and `multiValueHeaders` with all of them, plus the forwarding headers
 * API Gateway adds in front of every integration.
 */
export function collectHeaders(request: GatewayRequest): { headers: Record<string, string>; multiValueHeaders: Record<string, string[]> } {
  const multiValueHeaders: Record<string, string[]> = {};
  const nameOf = new Map<string, string>();
  const add = (name: string, value: string) => {
    const key = nameOf.get(name.toLowerCase()) ?? name;
    nameOf.set(name.toLowerCase(), key);
    (multiValueHeaders[key] ??= []).push(value);
  };
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) add(request.rawHeaders[i], request.rawHeaders[i + 1]);
  const set = (name: string, value: string) => {
    const key = nameOf.get(name.toLowerCase()) ?? name;
    nameOf.set(name.toLowerCase(), key);
    multiValueHeaders[key] = [value];
  };
  const forwarded = multiValueHeaders[nameOf.get('x-forwarded-for') ?? '']?.join(', ');
  set('X-Forwarded-For', forwarded ? `${forwarded}, ${request.sourceIp}` : request.sourceIp);
  if (!nameOf.has('x-forwarded-proto')) set('X-Forwarded-Proto', 'http');
  const host = multiValueHeaders[nameOf.get('host') ?? '']?.at(-1) ?? '';
  const port = /:(\d+)$/.exec(host);
  if (port && !nameOf.has('x-forwarded-port')) set('X-Forwarded-Port', port[1]);
  if (!nameOf.has('x-amzn-trace-id')) set('X-Amzn-Trace-Id', newTraceId(request.receivedAt));
  if (request.body.length > 0) {
    // API Gateway buffers the body, so the integration sees its length even for chunked uploads.
    set('Content-Length', String(request.body.length));
    const chunked = nameOf.get('transfer-encoding');
    if (chunked) delete multiValueHeaders[chunked];
  }
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(multiValueHeaders)) headers[name] = values[values.length - 1];
  return { headers, multiValueHeaders };
}

/** A header by name, whatever its case. */
export function headerOf(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** Decoded query parameters: the last value of each name, and all of them. */
export function parseQueryString(rawQueryString: string): { single: Record<string, string> | null; multi: Record<string, string[]> | null } {
  if (rawQueryString.length === 0) return { single: null, multi: null };
  const multi: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) (multi[name] ??= []).push(value);
  if (Object.keys(multi).length === 0) return { single: null, multi: null };
  const single: Record<string, string> = {};
  for (const [name, values] of Object.entries(multi)) single[name] = values[values.length - 1];
  return { single, multi };
}

function cloneMulti(values: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(values).map(([name, list]) => [name, [...list]]));
}

/** A stable, short id per resource path (API Gateway's resource ids are 6-10 characters). */
function resourceIdOf(resource: string): string {
  let hash = 0;
  for (let i = 0; i < resource.length; i++) hash = (Math.imul(hash, 31) + resource.charCodeAt(i)) >>> 0;
  return hash.toString(36).padStart(6, '0').slice(0, 10);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, the CLF-style time of `requestContext.requestTime`. */
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
