/**
 * The one map from error code to HTTP status. The handlers' error responder answers with it,
 * the client reads codes back with it, and the local CS2 gateway reports its errors with it.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { ErrorCode } from '../core/errors';

export const STATUS_OF_CODE: Readonly<Record<ErrorCode, number>> = {
  INVALID_INPUT: 400,
  MALFORMED_DATA: 400,
  DIMENSION_MISMATCH: 400,
  INVALID_PARAMETERS: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  // A quota of the caller is spent (an identification budget); Retry-After says when it renews.
  TOO_MANY_REQUESTS: 429,
  // The request was well formed, but what it carries cannot be decrypted (wrong key, tampered).
  DECRYPTION_FAILED: 422,
  // What serves no longer matches what the owner published (digests, signature): the owner
  // must publish again; retrying the same request cannot help.
  INTEGRITY_FAILED: 409,
  INTERNAL: 500,
  // A dependency (storage, CS2) did not answer: the same request may succeed later.
  UNAVAILABLE: 503,
};

export const ERROR_CODES = Object.keys(STATUS_OF_CODE) as readonly ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(STATUS_OF_CODE, value);
}

/** The code that goes with a status when an answer names none (API Gateway's own answers). */
export function codeOfStatus(status: number): ErrorCode {
  if (status === 429 || status === 502 || status === 504) return 'UNAVAILABLE';
  const exact = ERROR_CODES.find((code) => STATUS_OF_CODE[code] === status);
  if (exact !== undefined) return exact;
  return status >= 500 ? 'INTERNAL' : 'INVALID_INPUT';
}

/** The body of every error CS1 answers with: a stable code and a message a person can act on. */
export const ErrorBodySchema = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    /** Present on 5xx answers, to quote when reporting the problem. */
    requestId: Type.Optional(Type.String()),
  }),
});
export type ErrorBody = Static<typeof ErrorBodySchema>;
