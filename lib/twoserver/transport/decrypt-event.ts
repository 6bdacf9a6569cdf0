/**
 * The CS1 -> CS2 wire contract: the direct-invoke event of CS2's decrypt function and its
 * result, shared by CS1's transports (which build events and read results) and CS2's service
 * (which checks events and builds results).
 *
 *   event  {keyId, batch: base64}                          batch inline (small batches)
 *          {keyId, batchUrl: string, batchSha256: hex}     batch staged in CS1's bucket: CS2
 *                                                          GETs the presigned URL and checks
 *                                                          the SHA-256 before decrypting
 *   result {values: string[]}                              blinded values, decimal, batch order
 *
 * Why two forms: Lambda's synchronous invoke payload is limited to 6 MB (the local CS2 gateway
 * enforces the same), and bfv batches reach tens of MB; base64 grows bytes by 4/3, so batches
 * above INLINE_BATCH_MAX_BYTES travel through S3 instead. Values are decimal strings because
 * they exceed 2^53 (JSON numbers would lose digits).
 */
import { createHash } from 'node:crypto';
import { InvalidInputError, MalformedDataError } from '../../core/errors';

/** HE key ids: 8 random bytes as 16 lowercase hex characters (lib/he/formats.ts). */
export const HE_KEY_ID_PATTERN = /^[0-9a-f]{16}$/;

/**
 * Largest batch sent inline: its base64 (4/3 larger, about 5.6 MB) plus the JSON around it stays
 * under Lambda's 6 MiB synchronous payload limit.
 */
export const INLINE_BATCH_MAX_BYTES = 4 * 1024 * 1024;

/** Lambda's synchronous invocation payload limit (request and response). */
export const LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;

/** Longest presigned URL accepted (SigV4 query strings with a session token stay well below). */
export const MAX_BATCH_URL_LENGTH = 8192;

/** Largest decimal value CS2 returns: blinded values have at most a few hundred bits. */
const MAX_VALUE_DIGITS = 400;

export interface Cs2DecryptEvent {
  readonly keyId: string;
  /** The batch bytes, base64 (standard alphabet, padded). */
  readonly batch?: string;
  /** A presigned GET URL of the batch (when it is too large to send inline). */
  readonly batchUrl?: string;
  /** Hex SHA-256 of the batch bytes behind batchUrl. */
  readonly batchSha256?: string;
}

export interface Cs2DecryptResult {
  /** One blinded value per batch entry, as decimal strings, in batch order. */
  readonly values: string[];
}

/** A checked event: exactly one way to reach the batch. */
export type ParsedDecryptEvent =
  | { readonly keyId: string; readonly kind: 'inline'; readonly batch: Uint8Array }
  | { readonly keyId: string; readonly kind: 'url'; readonly batchUrl: URL; readonly batchSha256: string };

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (Buffer.from silently skips invalid characters, which would hide corruption). */
export function decodeBase64(text: string, what: string, maxBytes: number): Uint8Array {
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw new InvalidInputError(`${what} must be standard base64 (A-Z a-z 0-9 + /, padded with =)`);
  if ((text.length / 4) * 3 > maxBytes + 2) throw new InvalidInputError(`${what} is larger than ${maxBytes} bytes`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a decrypt event (InvalidInputError naming the field otherwise). The URL is only parsed
 * here; which URLs CS2 may fetch is CS2's policy (lib/service/cs2).
 */
export function parseDecryptEvent(event: unknown, maxInlineBytes: number): ParsedDecryptEvent {
  if (!isRecord(event)) throw new InvalidInputError('the decrypt event must be a JSON object {keyId, batch | batchUrl + batchSha256}');
  for (const key of Object.keys(event)) {
    if (!['keyId', 'batch', 'batchUrl', 'batchSha256'].includes(key)) {
      throw new InvalidInputError(`the decrypt event must not have property "${key.slice(0, 40)}"`);
    }
  }
  const { keyId, batch, batchUrl, batchSha256 } = event;
  if (typeof keyId !== 'string' || !HE_KEY_ID_PATTERN.test(keyId)) throw new InvalidInputError('keyId must be 16 lowercase hex characters (an HE key id)');
  if ((batch === undefined) === (batchUrl === undefined)) throw new InvalidInputError('send exactly one of batch (base64) and batchUrl');
  if (batch !== undefined) {
    if (typeof batch !== 'string' || batch.length === 0) throw new InvalidInputError('batch must be a non-empty base64 string');
    if (batchSha256 !== undefined) throw new InvalidInputError('batchSha256 goes with batchUrl only');
    return { keyId, kind: 'inline', batch: decodeBase64(batch, 'batch', maxInlineBytes) };
  }
  if (typeof batchUrl !== 'string' || batchUrl.length === 0 || batchUrl.length > MAX_BATCH_URL_LENGTH) {
    throw new InvalidInputError(`batchUrl must be a URL of at most ${MAX_BATCH_URL_LENGTH} characters`);
  }
  if (typeof batchSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(batchSha256)) {
    throw new InvalidInputError('batchSha256 must be the hex SHA-256 (64 lowercase hex characters) of the batch behind batchUrl');
  }
  let url: URL;
  try {
    url = new URL(batchUrl);
  } catch {
    throw new InvalidInputError('batchUrl is not a valid absolute URL');
  }
  return { keyId, kind: 'url', batchUrl: url, batchSha256 };
}

/** Values to the wire (decimal strings). */
export function encodeValues(values: readonly bigint[]): Cs2DecryptResult {
  return { values: values.map((v) => v.toString(10)) };
}

/**
 * CS2's answer back to bigints; MalformedDataError when it is not {values: decimal strings}
 * (what the caller turns into "CS2 answered with a malformed result").
 */
export function decodeValues(result: unknown): bigint[] {
  if (!isRecord(result) || !Array.isArray(result.values)) throw new MalformedDataError('CS2 result', 'it is not {values: [...]}');
  const values = result.values as unknown[];
  const out: bigint[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE_DIGITS || !/^-?[0-9]+$/.test(value)) {
      throw new MalformedDataError('CS2 result', `value ${i} is not a decimal integer string`);
    }
    out[i] = BigInt(value);
  }
  return out;
}
