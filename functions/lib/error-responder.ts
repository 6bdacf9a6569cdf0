/**
 * The one place errors become HTTP responses. Typed errors map to their 4xx/5xx (the status map
 * of lib/api/errors.ts) with their message (written to be safe to show); middy's own errors (bad JSON, schema violations) keep
 * their status with a readable message; anything else is a 500 whose body carries only the
 * request id, and whose details go to the log (without the request body).
 */
import type middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { STATUS_OF_CODE } from '../../lib/api/errors';
import { isBlindsightError, TooManyRequestsError, type ErrorCode } from '../../lib/core/errors';
import { NON_FINITE_MARKER } from './json-body';
import { errorBody, json, type HttpResult } from './responses';


interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: { additionalProperty?: string; allowedValues?: unknown[] };
}

/** Ajv's message, completed where it does not say which name or value was wrong. */
function ajvMessage(error: AjvError): string {
  const message = error.message ?? 'is invalid';
  if (error.keyword === 'additionalProperties' && error.params?.additionalProperty !== undefined) {
    return `must not have property "${String(error.params.additionalProperty).slice(0, 64)}"`;
  }
  if (error.keyword === 'enum' && Array.isArray(error.params?.allowedValues)) {
    return `must be one of ${error.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return message;
}

/** Errors thrown by middy middlewares (http-errors style). */
interface MiddyHttpError {
  statusCode: number;
  expose?: boolean;
  message: string;
  cause?: { package?: string; data?: unknown };
}

function isMiddyHttpError(error: unknown): error is MiddyHttpError {
  return typeof error === 'object' && error !== null && typeof (error as MiddyHttpError).statusCode === 'number';
}

function describeMiddyError(error: MiddyHttpError): { status: number; code: ErrorCode; message: string } {
  const source = error.cause?.package;
  if (source === '@middy/http-json-body-parser') {
    const parseMessage = (error.cause as { message?: string } | undefined)?.message ?? '';
    if (parseMessage.startsWith(NON_FINITE_MARKER)) {
      const key = parseMessage.slice(NON_FINITE_MARKER.length + 2);
      return { status: 400, code: 'INVALID_INPUT', message: `body ${key} is not a finite number: send numbers a double can hold` };
    }
    return error.message.includes('malformed')
      ? { status: 400, code: 'INVALID_INPUT', message: 'the request body is not valid JSON' }
      : { status: 415, code: 'INVALID_INPUT', message: 'send the request body as application/json' };
  }
  if (source === '@middy/validator' && Array.isArray(error.cause?.data)) {
    const details = (error.cause.data as AjvError[])
      .slice(0, 5)
      .map((e) => `${e.instancePath ? `${e.instancePath.replace(/^\/body/, 'body')} ` : ''}${ajvMessage(e)}`)
      .join('; ');
    return { status: 400, code: 'INVALID_INPUT', message: `invalid request: ${details}` };
  }
  const status = error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
  const message = error.expose === false || status >= 500 ? 'internal error' : error.message;
  return { status, code: status >= 500 ? 'INTERNAL' : 'INVALID_INPUT', message };
}

export function errorResponder(logger: Logger): middy.MiddlewareObj<unknown, HttpResult, Error, Context> {
  return {
    onError: async (request) => {
      const { error } = request;
      const requestId = request.context?.awsRequestId;
      let status: number;
      let code: ErrorCode;
      let message: string;
      if (isBlindsightError(error)) {
        status = STATUS_OF_CODE[error.code];
        code = error.code;
        message = status >= 500 && error.code === 'INTERNAL' ? 'internal error' : error.message;
      } else if (isMiddyHttpError(error)) {
        ({ status, code, message } = describeMiddyError(error));
      } else {
        status = 500;
        code = 'INTERNAL';
        message = 'internal error';
      }
      if (status >= 500) {
        logger.error('request failed', { code, error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error) });
      } else {
        logger.info('request refused', { status, code });
      }
      // A spent quota says when to come back (seconds), as HTTP clients expect.
      const headers: Record<string, string> = error instanceof TooManyRequestsError ? { 'retry-after': String(error.retryAfterSeconds) } : {};
      request.response = json(status, errorBody(code, message, status >= 500 ? requestId : undefined), headers);
    },
  };
}
