/**
 * What CS1's network transports to CS2 share (HTTP for the local cloud, Lambda Invoke in AWS):
 *
 * - small batches go inline (base64 in the event); larger ones are staged in CS1's bucket and
 *   sent as a presigned URL plus SHA-256 (decrypt-event.ts, batch-staging.ts);
 * - a query's stage larger than partBytes (default: the inline limit) is cut by the protocol
 *   into parts sent in parallel, each its own CS2 invocation (lib/twoserver/protocol/batch.ts),
 *   so a large identification neither waits for one CS2 to decrypt it all nor is staged;
 * - each attempt has a timeout (AbortSignal), capped by the caller's deadline (the Lambda
 *   function's own remaining time), so a hung CS2 never outlives CS1's function;
 * - exactly one retry, and only when the connection itself failed (CS2 restarting, a reset
 *   socket); timeouts, 5xx and refusals are not retried (a retry would only double the wait);
 * - every failure becomes an UnavailableError whose message says what happened, is safe to
 *   show, and names no key material: CS1 answers 503 and the next request tries CS2 afresh
 *   (nothing about a failure is cached).
 */
import { SETTINGS } from '../../config/settings';
import { InvalidInputError, isBlindsightError, MalformedDataError, PayloadTooLargeError, UnavailableError } from '../../core/errors';
import type { Cs2Transport } from '../protocol/types';
import type { BatchStaging, StagedBatch } from './batch-staging';
import { decodeValues, encodeBase64, HE_KEY_ID_PATTERN, INLINE_BATCH_MAX_BYTES } from './decrypt-event';
import type { Cs2DecryptEvent } from './decrypt-event';

const DEFAULT_RETRY_DELAY_MS = 100;
/** Attempts shorter than this are pointless: fail fast instead. */
const MIN_ATTEMPT_MS = 50;
const MAX_SHOWN_MESSAGE = 300;
/** Parts smaller than this would turn one call into hundreds (inlineMaxBytes may be 0: always staged). */
const MIN_PART_BYTES = 64 * 1024;

/** Error names thrown by Blindsight code (lib/core/errors): their messages are written to be shown. */
const SAFE_ERROR_TYPES = new Set([
  'BlindsightError',
  'InvalidInputError',
  'MalformedDataError',
  'DimensionMismatchError',
  'InvalidParametersError',
  'DecryptionError',
  'NotFoundError',
  'ConflictError',
  'UnauthorizedError',
  'ForbiddenError',
  'PayloadTooLargeError',
  'UnavailableError',
  // Written by the Lambda service / the local gateway, not by function code.
  'Sandbox.Timedout',
  'AccessDeniedException',
  'RequestTooLargeException',
  'Function.ResponseSizeTooLarge',
]);

/** Error codes CS2 marks its own failures with (the local gateway adds `errorCode`). */
const CS2_FAULT_CODES = new Set(['UNAVAILABLE', 'INTERNAL']);

/** One attempt's outcome, in transport-independent terms. */
export type Cs2Reply =
  | { readonly kind: 'result'; readonly value: unknown }
  | {
      readonly kind: 'function-error';
      /** HTTP status when the transport has one. */
      readonly status?: number;
      readonly errorType: string;
      readonly errorMessage: string;
      readonly errorCode?: string;
    };

export interface RemoteCs2TransportOptions {
  /** The HE key the index was encrypted under (CS2 loads its secret by this id). */
  readonly keyId: string;
  /** Where batches larger than inlineMaxBytes go. Without it such batches are refused. */
  readonly staging?: BatchStaging;
  /** Largest batch sent inline. Default INLINE_BATCH_MAX_BYTES (4 MiB). */
  readonly inlineMaxBytes?: number;
  /** Largest part of a stage (Cs2Transport.partBytes). Default: inlineMaxBytes, so no part is staged. */
  readonly partBytes?: number;
  /** Per-attempt timeout. Default 22 s. */
  readonly timeoutMs?: number;
  /** Epoch milliseconds after which no call may still be running (the function's deadline). */
  readonly deadline?: number;
  /** Wait before the single retry. Default 100 ms. */
  readonly retryDelayMs?: number;
}

/** Printable, bounded, one line. */
export function shownText(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > MAX_SHOWN_MESSAGE ? `${clean.slice(0, MAX_SHOWN_MESSAGE)}...` : clean;
}

class AttemptTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

export abstract class RemoteCs2Transport implements Cs2Transport {
  /** Calls made (batches), how many went through staging, retries, and bytes of batches sent. */
  calls = 0;
  stagedCalls = 0;
  retries = 0;
  bytesSent = 0;

  readonly partBytes: number;
  protected readonly keyId: string;
  private readonly staging?: BatchStaging;
  private readonly inlineMaxBytes: number;
  private readonly timeoutMs: number;
  private readonly deadline?: number;
  private readonly retryDelayMs: number;

  constructor(options: RemoteCs2TransportOptions) {
    if (!HE_KEY_ID_PATTERN.test(options.keyId)) throw new InvalidInputError('CS2 transport: keyId must be 16 lowercase hex characters');
    this.keyId = options.keyId;
    this.staging = options.staging;
    this.inlineMaxBytes = options.inlineMaxBytes ?? INLINE_BATCH_MAX_BYTES;
    this.timeoutMs = options.timeoutMs ?? SETTINGS.cs2TimeoutMs.default;
    this.deadline = options.deadline;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.partBytes = options.partBytes ?? Math.max(this.inlineMaxBytes, MIN_PART_BYTES);
    if (!Number.isSafeInteger(this.inlineMaxBytes) || this.inlineMaxBytes < 0 || this.inlineMaxBytes > INLINE_BATCH_MAX_BYTES) {
      throw new InvalidInputError(`CS2 transport: inlineMaxBytes must be an integer in [0, ${INLINE_BATCH_MAX_BYTES}]`);
    }
    if (!Number.isSafeInteger(this.partBytes) || this.partBytes < MIN_PART_BYTES) throw new InvalidInputError(`CS2 transport: partBytes must be an integer of at least ${MIN_PART_BYTES}`);
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) throw new InvalidInputError('CS2 transport: timeoutMs must be positive');
  }

  /** "HTTP" or "Lambda", for messages. */
  protected abstract readonly channel: string;

  /** One attempt. Throws on transport failures (connection, abort); CS2's own errors are replies. */
  protected abstract send(event: Cs2DecryptEvent, signal: AbortSignal): Promise<Cs2Reply>;

  /** True if the request never reached CS2 or the connection broke (worth one retry). */
  protected abstract isConnectionError(error: unknown): boolean;

  /** A safe, short description of a transport failure (no URLs with signatures, no ARNs). */
  protected abstract describeFailure(error: unknown): string;

  async decryptBatch(batch: Uint8Array): Promise<bigint[]> {
    let staged: StagedBatch | undefined;
    let event: Cs2DecryptEvent;
    if (batch.length <= this.inlineMaxBytes) {
      event = { keyId: this.keyId, batch: encodeBase64(batch) };
    } else {
      if (this.staging === undefined) {
        throw new PayloadTooLargeError(`a ${batch.length}-byte batch exceeds the ${this.inlineMaxBytes}-byte inline limit and no staging bucket is configured`);
      }
      staged = await this.staging.stage(batch);
      event = { keyId: this.keyId, batchUrl: staged.url, batchSha256: staged.sha256 };
      this.stagedCalls++;
    }
    this.calls++;
    this.bytesSent += batch.length;
    try {
      const reply = await this.sendWithRetry(event);
      if (reply.kind === 'function-error') throw this.functionError(reply);
      try {
        return decodeValues(reply.value);
      } catch (error) {
        if (error instanceof MalformedDataError) throw new UnavailableError(`CS2 answered with a malformed result: ${error.message}`);
        throw error;
      }
    } finally {
      await staged?.release();
    }
  }

  private attemptTimeout(): number {
    const left = this.deadline === undefined ? Number.POSITIVE_INFINITY : this.deadline - Date.now();
    const ms = Math.min(this.timeoutMs, left);
    if (ms < MIN_ATTEMPT_MS) throw new UnavailableError('CS2 is unavailable: no time is left before this request\'s deadline to call it');
    return Math.floor(ms);
  }

  private async attempt(event: Cs2DecryptEvent): Promise<Cs2Reply> {
    const ms = this.attemptTimeout();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new AttemptTimeout(ms)), ms);
    try {
      return await this.send(event, controller.signal);
    } catch (error) {
      if (controller.signal.aborted) throw new AttemptTimeout(ms);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async sendWithRetry(event: Cs2DecryptEvent): Promise<Cs2Reply> {
    try {
      return await this.attempt(event);
    } catch (first) {
      if (!(first instanceof AttemptTimeout) && !isBlindsightError(first) && this.isConnectionError(first)) {
        this.retries++;
        await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
        try {
          return await this.attempt(event);
        } catch (second) {
          throw this.transportError(second);
        }
      }
      throw this.transportError(first);
    }
  }

  private transportError(error: unknown): Error {
    if (isBlindsightError(error)) return error;
    if (error instanceof AttemptTimeout) return new UnavailableError(`CS2 is unavailable: ${error.message} (${this.channel})`);
    return new UnavailableError(`CS2 is unavailable: ${this.describeFailure(error)}`, { cause: error });
  }

  /** CS2 (or the service in front of it) answered with an error. */
  private functionError(reply: Extract<Cs2Reply, { kind: 'function-error' }>): UnavailableError {
    const type = shownText(reply.errorType || 'Error');
    const shown = SAFE_ERROR_TYPES.has(reply.errorType) || reply.errorCode !== undefined;
    const detail = shown && reply.errorMessage ? `: ${shownText(reply.errorMessage)}` : '';
    const status = reply.status !== undefined ? `HTTP ${reply.status}, ` : '';
    const cs2Fault =
      (reply.status !== undefined && reply.status >= 500) ||
      (reply.errorCode !== undefined && CS2_FAULT_CODES.has(reply.errorCode)) ||
      reply.errorType === 'Sandbox.Timedout' ||
      reply.errorType.startsWith('Runtime.') ||
      (reply.errorCode === undefined && !SAFE_ERROR_TYPES.has(reply.errorType));
    return cs2Fault
      ? new UnavailableError(`CS2 is unavailable: it failed (${status}${type})${detail}`)
      : new UnavailableError(`CS2 refused the decryption request (${status}${type})${detail}`);
  }
}
