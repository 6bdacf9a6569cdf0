/**
 * Errors of the CS1 client. Every failure is a BlindsightError with a stable code, so callers
 * (the CLI, the demo, tests) handle the client's errors like any other:
 * - ServiceError: CS1 (or the storage behind a presigned URL) answered with an error status.
 *   It carries the status, the server's code and the server's message, which CS1 writes to be
 *   safe to show. API Gateway's own refusals ({"message": "Forbidden"}) have no code; they get
 *   the code of their status and a message that says what usually causes them.
 * - ServiceUnreachableError: no HTTP answer at all (connection refused, DNS, reset, timeout).
 */
import { BlindsightError } from '../core/errors';
import { codeOfStatus, isErrorCode } from '../api/errors';

/** What a status without a message from CS1 usually means, for people. */
function gatewayMessage(status: number, fallback: string | undefined): string {
  switch (status) {
    case 401:
      return 'CS1 refused the request: it carries no token (send "Authorization: Bearer <token>")';
    case 403:
      return 'CS1 refused the token: it has expired, was revoked, or was not signed by this owner';
    case 404:
      return 'CS1 has no such route: check the endpoint URL';
    case 413:
      return 'the request is too large for CS1';
    case 429:
      return 'CS1 is throttling requests: try again shortly';
    case 503:
    case 504:
      return 'CS1 is temporarily unavailable: try again shortly';
    default:
      return fallback !== undefined && fallback.length > 0 ? `CS1 answered ${status}: ${fallback}` : `CS1 answered ${status}`;
  }
}

export class ServiceError extends BlindsightError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** The code as the server sent it (may be one this client does not know). */
  readonly serverCode: string | undefined;
  readonly requestId: string | undefined;
  /** What was being done, e.g. "search" or "upload of image x". */
  readonly operation: string;
  /** From the answer's Retry-After header: when the same request may succeed (e.g. a spent budget). */
  retryAfterSeconds?: number;

  constructor(options: { status: number; code?: string; message: string; requestId?: string; operation: string }) {
    const code = isErrorCode(options.code) ? options.code : codeOfStatus(options.status);
    super(code, options.message);
    this.status = options.status;
    this.serverCode = options.code;
    this.requestId = options.requestId;
    this.operation = options.operation;
  }

  /** Whether the same request may succeed later (throttling, outages, server faults). */
  get transient(): boolean {
    return this.status === 429 || this.status >= 500;
  }
}

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof ServiceError;
}

/** No HTTP answer: the service is down, unreachable, or did not answer in time. */
export class ServiceUnreachableError extends BlindsightError {
  readonly endpoint: string;
  /** The request certainly never reached the server (connection refused, DNS failure). */
  readonly notSent: boolean;

  constructor(endpoint: string, detail: string, notSent: boolean, options?: { cause?: unknown }) {
    super('UNAVAILABLE', `cannot reach ${endpoint}: ${detail}`, options);
    this.endpoint = endpoint;
    this.notSent = notSent;
  }
}

export function isServiceUnreachable(error: unknown): error is ServiceUnreachableError {
  return error instanceof ServiceUnreachableError;
}

function isLoopback(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host.startsWith('127.');
  } catch {
    return false;
  }
}

/** Node's fetch wraps the socket error in `cause`; its code says what happened. */
function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Codes of failures that happen before a request is written: retrying cannot repeat an effect. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The error for a fetch that produced no response. `target` is what the user knows the service
 * as (CS1's endpoint, or "storage at <origin>" for presigned URLs).
 */
export function unreachable(target: string, error: unknown, timeoutMs: number, kind: 'api' | 'storage'): ServiceUnreachableError {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new ServiceUnreachableError(target, `no answer within ${Math.round(timeoutMs / 1000)} s`, false, { cause: error });
  }
  const code = causeCode(error);
  const notSent = code !== undefined && NOT_SENT_CODES.has(code);
  const causeMessage = (error as { cause?: { message?: unknown } } | null)?.cause?.message;
  const detail = code ?? (typeof causeMessage === 'string' && causeMessage.length > 0 ? causeMessage.split('\n')[0].slice(0, 120) : 'network error');
  let hint: string;
  if (kind === 'api' && isLoopback(target)) hint = 'is the local cloud running? (npm start)';
  else if (kind === 'api') hint = 'check the endpoint URL and your network';
  else hint = 'the storage the service handed out is not reachable from here';
  return new ServiceUnreachableError(target, `${detail}; ${hint}`, notSent, { cause: error });
}

/** Reads CS1's JSON error body (or API Gateway's {message}) into a ServiceError. */
export function serviceErrorOf(status: number, bodyText: string, operation: string): ServiceError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = undefined;
  }
  const record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  const error = record?.error;
  if (typeof error === 'object' && error !== null) {
    const { code, message, requestId } = error as Record<string, unknown>;
    if (typeof message === 'string') {
      return new ServiceError({
        status,
        code: typeof code === 'string' ? code : undefined,
        message: requestId !== undefined && status >= 500 ? `${message} (request id ${String(requestId)})` : message,
        requestId: typeof requestId === 'string' ? requestId : undefined,
        operation,
      });
    }
  }
  const gateway = typeof record?.message === 'string' ? record.message : undefined;
  return new ServiceError({ status, message: gatewayMessage(status, gateway), operation });
}

/** S3's XML error (<Code>, <Message>) for a failed presigned transfer. */
export function storageErrorOf(status: number, bodyText: string, operation: string): ServiceError {
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(bodyText)?.[1];
  const message = /<Message>([^<]{1,300})<\/Message>/.exec(bodyText)?.[1];
  const detail = [code, message].filter((part) => part !== undefined).join(': ');
  const hint = status === 403 ? ' (the presigned URL may have expired: run the command again)' : '';
  return new ServiceError({
    status,
    message: `${operation} failed: storage answered ${status}${detail ? ` ${detail}` : ''}${hint}`,
    operation,
  });
}
