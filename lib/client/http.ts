/**
 * One HTTP exchange with retries where they are safe. A request is repeated:
 * - after a failure that certainly happened before anything was sent (connection refused, DNS):
 *   whatever the method, the server never saw it;
 * - after a lost answer (reset, timeout) or a transient status (429, 500, 502, 503, 504) only
 *   when the request is idempotent: repeating it cannot do anything twice (reads, searches,
 *   presigned PUTs of the same bytes, publishing a version, which CS1 treats as idempotent).
 * Back-off doubles from `baseDelayMs` with full jitter, and honours Retry-After.
 */
import { secureRandom } from '../core/random';
import { isBlindsightError, MalformedDataError } from '../core/errors';
import { storageErrorOf, serviceErrorOf, unreachable } from './errors';
import type { ServiceError } from './errors';
import type { FetchFunction, RetryOptions } from './types';

export const DEFAULT_RETRY: Required<RetryOptions> = { attempts: 4, baseDelayMs: 200, maxDelayMs: 3000 };

export interface HttpExchange {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Names the operation in error messages ("search", "upload of image x"). */
  readonly operation: string;
  /** Safe to repeat after an answer was lost or a transient status. */
  readonly idempotent: boolean;
  /** 'api': CS1 (JSON errors); 'storage': a presigned S3 URL (XML errors). */
  readonly kind: 'api' | 'storage';
  /** What the user knows the target as, for "cannot reach <target>". */
  readonly target: string;
  readonly timeoutMs: number;
}

export interface HttpEngine {
  readonly fetch: FetchFunction;
  readonly retry: Required<RetryOptions>;
  readonly sleep: (ms: number) => Promise<void>;
}

export function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const TRANSIENT_STATUSES = new Set([429, 500, 502, 503, 504]);

/** Delay before attempt `attempt + 1` (attempt counts from 1): full jitter, or Retry-After. */
export function backoffDelay(attempt: number, retry: Required<RetryOptions>, retryAfter?: string | null): number {
  const seconds = retryAfter !== undefined && retryAfter !== null ? Number(retryAfter) : Number.NaN;
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(retry.maxDelayMs, seconds * 1000);
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling * (0.5 + 0.5 * secureRandom.next()));
}

/**
 * Runs the exchange and reads the successful (2xx) answer with `read`; throws ServiceError or
 * ServiceUnreachableError. Reading is part of the attempt: an answer whose body breaks off is
 * a lost answer, retried like one.
 */
export async function exchange<T>(engine: HttpEngine, request: HttpExchange, read: (response: Response) => Promise<T>): Promise<T> {
  const { retry } = engine;
  for (let attempt = 1; ; attempt++) {
    let response: Response;
    let body: T;
    try {
      response = await engine.fetch(request.url, {
        method: request.method,
        headers: request.headers as Record<string, string> | undefined,
        body: request.body as BodyInit | undefined,
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      if (response.ok) body = await read(response);
    } catch (error) {
      // The reader's own verdict (e.g. a body that is not JSON) is final.
      if (isBlindsightError(error)) throw error;
      const failure = unreachable(request.target, error, request.timeoutMs, request.kind);
      if (attempt < retry.attempts && (failure.notSent || request.idempotent)) {
        await engine.sleep(backoffDelay(attempt, retry));
        continue;
      }
      throw failure;
    }
    if (response.ok) return body!;
    const text = await readText(response);
    const error: ServiceError =
      request.kind === 'api' ? serviceErrorOf(response.status, text, request.operation) : storageErrorOf(response.status, text, request.operation);
    const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
    if (Number.isFinite(retryAfter) && retryAfter >= 0) error.retryAfterSeconds = retryAfter;
    // A wait longer than the client's longest back-off (a spent quota) is the caller's to decide.
    const waitable = !(retryAfter * 1000 > retry.maxDelayMs);
    if (attempt < retry.attempts && request.idempotent && TRANSIENT_STATUSES.has(response.status) && waitable) {
      await engine.sleep(backoffDelay(attempt, retry, response.headers.get('retry-after')));
      continue;
    }
    throw error;
  }
}

/** The body as text, or '' when it cannot be read (the status alone then explains the error). */
async function readText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch {
    return '';
  }
}

/** Reads a body as bytes (pass to exchange). */
export async function bytesOf(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

/** Reads a body as text and parses it as JSON (pass to exchange); a body that is not JSON is the service's fault. */
export function jsonOf<T>(target: string, operation: string): (response: Response) => Promise<T> {
  return async (response) => {
    const text = await response.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new MalformedDataError(`the answer of ${target} to ${operation}`, 'is not JSON: is this the endpoint of CS1?');
    }
  };
}

/** Discards a body (pass to exchange). */
export async function discard(response: Response): Promise<void> {
  await response.arrayBuffer();
}
