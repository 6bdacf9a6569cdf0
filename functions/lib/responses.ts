/** JSON responses in the shape of a REST API Lambda proxy integration. */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ErrorBody } from '../../lib/api/errors';

export type HttpResult = APIGatewayProxyResult;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** The error body every endpoint uses (lib/api/errors.ts): a stable code and a message a person can act on. */
export function errorBody(code: string, message: string, requestId?: string): ErrorBody {
  return { error: { code, message, ...(requestId ? { requestId } : {}) } };
}
