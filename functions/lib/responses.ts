/** JSON responses in the shape of a REST API Lambda proxy integration. */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ErrorBody } from '../../lib/api/errors';
import { OCTET_STREAM } from '../../lib/api/media-types';

export type HttpResult = APIGatewayProxyResult;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * A binary answer: base64 with `isBase64Encoded`, which API Gateway turns back into the bytes
 * for a request whose Accept header asks for a binary media type (lib/api/media-types.ts).
 */
export function binary(statusCode: number, bytes: Uint8Array, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': OCTET_STREAM, 'cache-control': 'no-store', ...headers },
    body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
    isBase64Encoded: true,
  };
}

/** The error body every endpoint uses (lib/api/errors.ts): a stable code and a message a person can act on. */
export function errorBody(code: string, message: string, requestId?: string): ErrorBody {
  return { error: { code, message, ...(requestId ? { requestId } : {}) } };
}
