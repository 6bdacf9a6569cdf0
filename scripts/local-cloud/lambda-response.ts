/**
 * How an HTTP API (payload format 2.0) turns a Lambda result into the HTTP response, and the
 * error responses API Gateway itself sends (`{"message": ...}` bodies).
 */

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Each becomes its own Set-Cookie header. */
  readonly cookies: readonly string[];
  readonly body: Buffer;
}

export type ResultConversion = { readonly ok: true; readonly response: HttpResponse } | { readonly ok: false; readonly problem: string };

/**
 * Payload 2.0 rules: a result with `statusCode` is a structured response (headers, cookies,
 * body, isBase64Encoded); any other JSON value is sent as a 200 application/json body. A
 * malformed structured response is a 500 from API Gateway, reported here as `ok: false`.
 */
export function convertLambdaResult(result: unknown): ResultConversion {
  if (!isRecord(result) || !('statusCode' in result)) {
    const body = typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null');
    return { ok: true, response: { statusCode: 200, headers: { 'content-type': 'application/json' }, cookies: [], body: Buffer.from(body, 'utf8') } };
  }
  const { statusCode, headers, cookies, body, isBase64Encoded } = result;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    return { ok: false, problem: 'statusCode must be an integer HTTP status' };
  }
  const outHeaders: Record<string, string> = {};
  if (headers !== undefined) {
    if (!isRecord(headers)) return { ok: false, problem: 'headers must be an object' };
    for (const [name, value] of Object.entries(headers)) {
      if (!['string', 'number', 'boolean'].includes(typeof value)) return { ok: false, problem: `header ${name} must be a string, number or boolean` };
      outHeaders[name.toLowerCase()] = String(value);
    }
  }
  if (cookies !== undefined && (!Array.isArray(cookies) || cookies.some((c) => typeof c !== 'string'))) {
    return { ok: false, problem: 'cookies must be an array of strings' };
  }
  if (body !== undefined && body !== null && typeof body !== 'string') return { ok: false, problem: 'body must be a string' };
  if (isBase64Encoded !== undefined && typeof isBase64Encoded !== 'boolean') return { ok: false, problem: 'isBase64Encoded must be a boolean' };
  const text = typeof body === 'string' ? body : '';
  return {
    ok: true,
    response: {
      statusCode,
      headers: outHeaders,
      cookies: (cookies as string[] | undefined) ?? [],
      body: isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8'),
    },
  };
}

/** API Gateway's own error responses. */
export const GATEWAY_ERRORS = {
  unauthorized: { statusCode: 401, message: 'Unauthorized' },
  forbidden: { statusCode: 403, message: 'Forbidden' },
  notFound: { statusCode: 404, message: 'Not Found' },
  methodNotAllowed: { statusCode: 405, message: 'Method Not Allowed' },
  payloadTooLarge: { statusCode: 413, message: 'Request Entity Too Large' },
  internal: { statusCode: 500, message: 'Internal Server Error' },
  unavailable: { statusCode: 503, message: 'Service Unavailable' },
} as const;

export type GatewayErrorKind = keyof typeof GATEWAY_ERRORS;

export function gatewayErrorResponse(kind: GatewayErrorKind, extraHeaders: Record<string, string> = {}): HttpResponse {
  const { statusCode, message } = GATEWAY_ERRORS[kind];
  return jsonResponse(statusCode, { message }, extraHeaders);
}

export function jsonResponse(statusCode: number, value: unknown, extraHeaders: Record<string, string> = {}): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...extraHeaders },
    cookies: [],
    body: Buffer.from(JSON.stringify(value), 'utf8'),
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
