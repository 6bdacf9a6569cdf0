/**
 * Typed errors shared by every layer. Each carries a stable `code` that the HTTP layer maps to a
 * status and the CLI prints; messages say what was wrong and what to do, and never contain key
 * material, vectors or plaintext.
 */

export type ErrorCode =
  | 'INVALID_INPUT'
  | 'MALFORMED_DATA'
  | 'DIMENSION_MISMATCH'
  | 'INVALID_PARAMETERS'
  | 'DECRYPTION_FAILED'
  | 'INTEGRITY_FAILED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_REQUESTS'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export class BlindsightError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A caller passed a value that can never be valid (wrong type, range, NaN, ...). */
export class InvalidInputError extends BlindsightError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_INPUT', message, options);
  }
}

/** Serialized bytes are truncated, oversized, of another format or internally inconsistent. */
export class MalformedDataError extends BlindsightError {
  constructor(what: string, problem: string) {
    super('MALFORMED_DATA', `${what}: ${problem}`);
  }
}

/** Vectors, keys or indexes of different dimensions were combined. */
export class DimensionMismatchError extends BlindsightError {
  constructor(what: string, expected: number, actual: number) {
    super('DIMENSION_MISMATCH', `${what}: expected dimension ${expected}, got ${actual}`);
  }
}

/** Cryptographic or algorithmic parameters that cannot work (names the bound that fails). */
export class InvalidParametersError extends BlindsightError {
  constructor(message: string) {
    super('INVALID_PARAMETERS', message);
  }
}

/** Authenticated decryption failed: wrong key, wrong image id, or tampered bytes. */
export class DecryptionError extends BlindsightError {
  constructor(message: string) {
    super('DECRYPTION_FAILED', message);
  }
}

export class NotFoundError extends BlindsightError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

export class ConflictError extends BlindsightError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

export class UnauthorizedError extends BlindsightError {
  constructor(message: string) {
    super('UNAUTHORIZED', message);
  }
}

export class ForbiddenError extends BlindsightError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

export class PayloadTooLargeError extends BlindsightError {
  constructor(message: string) {
    super('PAYLOAD_TOO_LARGE', message);
  }
}

/**
 * The caller has used up a quota (e.g. its identification budget for the current window);
 * `retryAfterSeconds` says when the same request can succeed (HTTP Retry-After).
 */
export class TooManyRequestsError extends BlindsightError {
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/**
 * The service is misconfigured (a missing environment variable, a bad setting). The operator
 * must fix it; callers only see an internal error, the log has this message.
 */
export class ConfigurationError extends BlindsightError {
  constructor(message: string) {
    super('INTERNAL', message);
  }
}

/** A dependency (e.g. CS2) is down or timed out; the caller may retry later. */
export class UnavailableError extends BlindsightError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options);
  }
}

/**
 * Stored or downloaded bytes do not match the digest (or signature) fixed when they were
 * published: they were changed afterwards. Never a result computed from them.
 */
export class IntegrityError extends BlindsightError {
  constructor(message: string) {
    super('INTEGRITY_FAILED', message);
  }
}

export function isBlindsightError(error: unknown): error is BlindsightError {
  return error instanceof BlindsightError;
}
