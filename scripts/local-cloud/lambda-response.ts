/**
 * How a REST API's Lambda proxy integration turns a Lambda result into the HTTP response, and
 * the answers API Gateway itself sends (its gateway responses), as the CDK stack configures them.
 */
import { CORS_EXPOSED_HEADERS, isAllowedOrigin } from '../../lib/api/cors';

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Headers sent once per value (e.g. several Set-Cookie). */
  readonly multiValueHeaders: Readonly<Record<string, readonly string[]>>;
  readonly body: Buffer;
}

export type ResultConversion = { readonly ok: true; readonly response: HttpResponse } | { readonly ok: false; readonly problem: string };

/**
 * Proxy integration rules: the result must be an object with an integer `statusCode`, and may
 * have `headers` (string values), `multiValueHeaders` (string lists), a string `body` and
 * `isBase64Encoded`. Anything else is a malformed proxy response: API Gateway answers 502.
 * A base64 body is sent as bytes only when `binaryAnswer` (the request's first Accept media type
 * is one of the API's binary media types, lib/api/media-types.ts); otherwise as the base64 text.
 */
export function convertProxyResult(result: unknown, binaryAnswer = false): ResultConversion {
  if (!isRecord(result)) return { ok: false, problem: 'the result is not an object with a statusCode' };
  const { statusCode, headers, multiValueHeaders, body, isBase64Encoded } = result;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    return { ok: false, problem: 'statusCode must be an integer HTTP status' };
  }
  const outHeaders: Record<string, string> = {};
  if (headers !== undefined && headers !== null) {
    if (!isRecord(headers)) return { ok: false, problem: 'headers must be an object' };
    for (const [name, value] of Object.entries(headers)) {
      if (!['string', 'number', 'boolean'].includes(typeof value)) return { ok: false, problem: `header ${name} must be a string, number or boolean` };
      outHeaders[name.toLowerCase()] = String(value);
    }
  }
  const outMulti: Record<string, string[]> = {};
  if (multiValueHeaders !== undefined && multiValueHeaders !== null) {
    if (!isRecord(multiValueHeaders)) return { ok: false, problem: 'multiValueHeaders must be an object' };
    for (const [name, values] of Object.entries(multiValueHeaders)) {
      if (!Array.isArray(values) || values.some((v) => !['string', 'number', 'boolean'].includes(typeof v))) {
        return { ok: false, problem: `multiValueHeaders ${name} must be a list of strings` };
      }
      outMulti[name.toLowerCase()] = values.map(String);
    }
  }
  if (body !== undefined && body !== null && typeof body !== 'string') return { ok: false, problem: 'body must be a string' };
  if (isBase64Encoded !== undefined && typeof isBase64Encoded !== 'boolean') return { ok: false, problem: 'isBase64Encoded must be a boolean' };
  const text = typeof body === 'string' ? body : '';
  return {
    ok: true,
    response: {
      statusCode,
      headers: outHeaders,
      multiValueHeaders: outMulti,
      body: isBase64Encoded && binaryAnswer ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8'),
    },
  };
}

/** API Gateway's own answers, with the statuses and bodies the CDK stack gives them. */
export const GATEWAY_RESPONSES = {
  /** UNAUTHORIZED: no Authorization header, or the authorizer threw "Unauthorized". */
  unauthorized: { statusCode: 401, body: { message: 'Unauthorized' } },
  /** ACCESS_DENIED, configured with the same `message` field as the others: the authorizer's policy denies the method. */
  accessDenied: { statusCode: 403, body: { message: 'Forbidden' } },
  /** MISSING_AUTHENTICATION_TOKEN, configured as 404: no such route. */
  notFound: { statusCode: 404, body: { message: 'Not Found' } },
  /** Local only: the path exists for other methods (AWS answers 404). */
  methodNotAllowed: { statusCode: 405, body: { message: 'Method Not Allowed' } },
  /** REQUEST_TOO_LARGE, configured with this message. */
  payloadTooLarge: { statusCode: 413, body: { message: 'Request Entity Too Large' } },
  /** The Lambda function failed, timed out inside, or returned a malformed proxy response. */
  badGateway: { statusCode: 502, body: { message: 'Internal server error' } },
  /** AUTHORIZER_FAILURE / AUTHORIZER_CONFIGURATION_ERROR, configured as 503. */
  authorizerFailure: {
    statusCode: 503,
    body: { error: { code: 'UNAVAILABLE', message: 'the token could not be checked just now: try again shortly' } },
    headers: { 'retry-after': '1' },
  },
  /** INTEGRATION_TIMEOUT. */
  integrationTimeout: { statusCode: 504, body: { message: 'Endpoint request timed out' } },
} as const;

export type GatewayResponseKind = keyof typeof GATEWAY_RESPONSES;

/**
 * CORS headers of a gateway response: the one configured origin, or the request's origin when
 * several are configured (the bodies hold no data; a page had to pass the preflight to send a
 * request that needs one). None when no origin is configured.
 */
export function gatewayCorsHeaders(origins: readonly string[], requestOrigin: string | undefined): Record<string, string> {
  if (origins.length === 0) return {};
  const expose = { 'access-control-expose-headers': CORS_EXPOSED_HEADERS.join(',') };
  if (origins.length === 1 && !origins[0].includes('*')) return { 'access-control-allow-origin': origins[0], ...expose };
  if (!isAllowedOrigin(requestOrigin, origins)) return { vary: 'Origin' };
  return { 'access-control-allow-origin': requestOrigin as string, vary: 'Origin', ...expose };
}

export function gatewayResponse(kind: GatewayResponseKind, requestId: string, extraHeaders: Record<string, string> = {}): HttpResponse {
  const spec = GATEWAY_RESPONSES[kind];
  const body: unknown =
    'error' in spec.body ? { error: { ...spec.body.error, requestId } } : spec.body;
  return jsonResponse(spec.statusCode, body, { 'x-amzn-errortype': errorTypeOf(kind), ...('headers' in spec ? spec.headers : {}), ...extraHeaders });
}

function errorTypeOf(kind: GatewayResponseKind): string {
  return {
    unauthorized: 'UnauthorizedException',
    accessDenied: 'AccessDeniedException',
    notFound: 'MissingAuthenticationTokenException',
    methodNotAllowed: 'MissingAuthenticationTokenException',
    payloadTooLarge: 'RequestEntityTooLargeException',
    badGateway: 'InternalServerErrorException',
    authorizerFailure: 'AuthorizerConfigurationException',
    integrationTimeout: 'IntegrationTimeoutException',
  }[kind];
}

export function jsonResponse(statusCode: number, value: unknown, extraHeaders: Record<string, string> = {}): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...extraHeaders },
    multiValueHeaders: {},
    body: Buffer.from(JSON.stringify(value), 'utf8'),
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
