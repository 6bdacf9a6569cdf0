/**
 * Base64 (RFC 4648, with padding) for bytes, with the platform's atob/btoa so the same code runs
 * in Node and in a browser. Decoding is strict: anything but canonical base64 is refused.
 */
import { MalformedDataError } from '../core/errors';

/** Characters per btoa/atob call: whole 3-byte groups, and small enough for String.fromCharCode's argument list. */
const CHUNK = 3 * 8192;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function bytesToBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let from = 0; from < bytes.length; from += CHUNK) {
    parts.push(btoa(String.fromCharCode(...bytes.subarray(from, from + CHUNK))));
  }
  return parts.join('');
}

export function isBase64(text: string): boolean {
  return text.length % 4 === 0 && BASE64.test(text);
}

/** @throws MalformedDataError naming `what` when `text` is not base64. */
export function base64ToBytes(text: string, what = 'base64 text'): Uint8Array {
  if (!isBase64(text)) throw new MalformedDataError(what, 'is not base64');
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new MalformedDataError(what, 'is not base64');
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
